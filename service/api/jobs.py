"""Jobs: changes too large for one request, and where each stands."""

from flask import current_app, json
from flask.views import MethodView

from .. import progress, queries
from ..auth import requires
from ..schemas import JobSchema, NoQuerySchema
from .base import Blueprint

blp = Blueprint("jobs", __name__, url_prefix="/v1/jobs", description="Changes applied by a job")


@blp.route("/<id:job_id>")
class JobItem(MethodView):
    """One job."""
    @requires("read")
    @blp.doc(operationId="getJob")
    @blp.arguments(NoQuerySchema, location="query")
    @blp.response(200, JobSchema)
    def get(self, _args, job_id):
        """Read a job: queued, running, done or failed, with how many claims its change re-derives and has so far.

        A `PATCH` of a source behind many claims answers 202 with a job; poll it here until its
        `state` is done or failed. The change applies whole: no reader sees part of it.
        """
        job = queries.get_job(job_id)
        job.claims_done = progress.claims_done(job, current_app.config)
        return job


def job_accepted(job):
    """The 202 answer to a request whose change a job applies: the job, and where to poll it."""
    dumped = JobSchema().dump(job)
    blp.set_etag(dumped)  # a PATCH answered with a job carries the job's ETag, not the unchanged source's
    body = json.dumps(dumped)
    return current_app.response_class(body, status=202, mimetype="application/json",
                                      headers={"Location": f"/v1/jobs/{job.id}"})
