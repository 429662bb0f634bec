// Commands in a guest over its serial console (a QEMU chardev unix socket):
// the guest's /init (vm/image.ts) evaluates one shell line at a time, so a
// command is its argv quoted by the one quoting function, followed by an end
// marker carrying the exit status.
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { CommandError, shellQuote, waitFor, type ExecOptions, type ExecResult } from "../provider/host.ts";

const DEFAULT_TIMEOUT_MS = 30_000;

/** Sends one line and collects the output up to the marker; rejects on timeout (a TimeoutError, as Node's own) or a socket error. */
function roundTrip(socketPath: string, line: string, marker: RegExp, timeoutMs: number): Promise<RegExpExecArray & { before: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let seen = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError"));
    }, timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(line));
    sock.on("data", (d: string) => {
      seen += d;
      const m = marker.exec(seen);
      if (!m) return;
      clearTimeout(timer);
      sock.destroy();
      resolve(Object.assign(m, { before: seen.slice(0, m.index) }));
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Runs `argv` in the guest behind `socketPath`; resolves with its output (stdout and stderr together). */
export async function consoleExec(socketPath: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const label = `guest console ${socketPath}`;
  // The guest reads one line per command: a line break inside an argument would end it early.
  if (argv.some((a) => /[\r\n]/.test(a))) {
    const why = "the console takes no line breaks inside arguments";
    throw new CommandError(label, argv, null, "", "", `was not run: ${why}`, { cause: new TypeError(why) });
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const nonce = randomBytes(6).toString("hex");
  // The marker starts on a line of its own; the leading newline is dropped below.
  const line = `${shellQuote(argv)} </dev/null 2>&1; printf '\\n@@%s:%d\\n' ${nonce} $?\n`;
  let m;
  try {
    m = await roundTrip(socketPath, line, new RegExp(`\\n@@${nonce}:(\\d+)\\n`), timeoutMs);
  } catch (e) {
    throw new CommandError(label, argv, null, "", "", (e as Error).message, { cause: e });
  }
  const code = Number(m[1]);
  // The console mixes the two streams: on failure the output is the error's detail.
  if (code !== 0) throw new CommandError(label, argv, code, m.before, m.before, `exited ${code}`);
  return { stdout: m.before, stderr: "" };
}

/** Waits until the guest answers on its console (it has booted), for at most `timeoutMs`. */
export async function waitForGuest(socketPath: string, timeoutMs: number): Promise<void> {
  let last: unknown;
  // `true` cannot fail, so any failure of it means "not up yet", whatever its kind: no socket yet
  // ("unreachable"), no answer ("timeout"), or a line the booting guest read only half of (exit 127).
  const answered = () =>
    consoleExec(socketPath, ["true"], { timeoutMs: 2000 }).then(
      () => true,
      (e: unknown) => {
        if (!(e instanceof CommandError)) throw e;
        last = e;
        return false;
      },
    );
  if (!(await waitFor(answered, timeoutMs))) throw new Error(`the guest on ${socketPath} did not answer within ${timeoutMs} ms: ${(last as Error).message}`, { cause: last });
}
