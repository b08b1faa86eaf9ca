/** One documented upstream operation, as infra_list_operations lists it. */
export interface Operation {
  method: string;
  path: string;
  summary: string;
}

/** Case-insensitive match on method, path or summary; every word must match. */
export function filterOperations(operations: readonly Operation[], filter: string | undefined): Operation[] {
  const words = (filter ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...operations];
  return operations.filter((operation) => {
    const haystack = `${operation.method} ${operation.path} ${operation.summary}`.toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}
