async function retry(fn, attempts = 5) {
  for (let i = 0; i < attempts; i++) {
    try { return await fn(); } catch (e) {
      const delay = 100 * 2 ** i + Math.random() * 100;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
