declare module 'another-json' {
  /** Matrix canonical JSON: sorted keys, no insignificant whitespace. */
  export function stringify(value: unknown): string;
  const anotherJson: { stringify(value: unknown): string };
  export default anotherJson;
}
