// Compiled by tests/test_contract.py with `tsc --strict` beside the types openapi-typescript
// generates from the OpenAPI document (schema.d.ts): what a TypeScript client relies on.
import type { components, operations } from "./schema";

type Claim = operations["getClaim"]["responses"][200]["content"]["application/json"];
type Status = components["schemas"]["Status"];

export function statusOf(claim: Claim): Status | undefined {
  return claim.status;
}

export function isSettled(claim: Claim): boolean {
  const settled: Status[] = ["confirmed", "denied"];
  return claim.status !== undefined && settled.includes(claim.status);
}

export function firstOrigin(claim: Claim): string | undefined {
  return claim.attributions?.[0]?.source;
}

// Status is the set of statuses, not any string.
// @ts-expect-error "probable" is not a status
export const notAStatus: Status = "probable";
