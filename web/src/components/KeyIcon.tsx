/** A small key, beside a message whose key has not arrived (an SVG, so it renders without an emoji font). */
export function KeyIcon() {
  return (
    <svg class="key-icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      <path d="M10.5 1a4.5 4.5 0 0 0-4.3 5.8L1 12v3h3v-1.5h1.5V12H7l1.4-1.4A4.5 4.5 0 1 0 10.5 1zm1 2.5a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3z" />
    </svg>
  );
}
