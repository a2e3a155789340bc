// Minimal types for Splunk's HEC client, used only as an oracle for the HEC payload shape.
declare module 'splunk-logging' {
  interface SendContext {
    message: unknown;
    metadata?: { source?: string; sourcetype?: string; index?: string; host?: string };
  }
  class Logger {
    constructor(config: { token: string; url: string; maxBatchCount?: number });
    send(
      context: SendContext,
      callback: (err: Error | null, resp: { statusCode: number }, body: unknown) => void,
    ): void;
  }
  const splunk: { Logger: typeof Logger };
  export default splunk;
}
