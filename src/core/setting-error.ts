// The one error that stops startup: it names the setting the operator has to fix (an environment
// variable) and says what is wrong with it, e.g.
// `EDGEPROXY_LISTEN_ADDR: cannot listen on 127.0.0.1:8080: listen EADDRINUSE`. Thrown by the config
// loader and by every component's start(); main.ts prints it and exits.
export class SettingError extends Error {
  readonly variable: string;
  readonly detail: string;
  constructor(variable: string, detail: string) {
    super(`${variable}: ${detail}`);
    this.variable = variable;
    this.detail = detail;
    this.name = "SettingError";
  }
}
