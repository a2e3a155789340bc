// Temporary DOM ids for form fields; never sent to the server.
export const fieldId = (prefix) => `${prefix}-${Math.random().toString(36).slice(2, 7)}`;
