/**
 * JSON as chat templates' `tojson` filter writes it: Python `json.dumps`
 * defaults (`", "` and `": "` separators, keys in insertion order, no ASCII
 * escaping), with undefined values written as null like @huggingface/jinja.
 */

/** Serialises `value` the way a chat template's `tojson` does. */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
      if (value instanceof Map) {
        return `{${[...value.entries()].map(([k, v]) => `${JSON.stringify(String(k))}: ${pyJson(v)}`).join(', ')}}`;
      }
      const entries = Object.entries(value as Record<string, unknown>);
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pyJson(v)}`).join(', ')}}`;
    }
    default:
      return 'null';
  }
}
