/** Shown in a second tab: only one tab at a time may use this browser's encryption keys. */
export function OtherTab() {
  return (
    <main class="notice-page" aria-labelledby="other-tab-title">
      <h1 id="other-tab-title">SecureComm is open in another tab</h1>
      <p>
        Only one tab at a time can use your encryption keys in this browser (two would damage them). Use the other tab, or close it: this tab then takes over by
        itself.
      </p>
    </main>
  );
}
