// What a failed command means, decided here and only here, from its argv,
// exit status and stderr (the tools' own messages: real ones are recorded in
// test/fixtures/errors/recorded.json), or, when it never exited, from why not.

/**
 * Why a command failed, for callers to act on:
 * - `not-found`: what it was asked about is not there (bridge, row, device, file, process, meter, an echo reply);
 * - `exists`: what it was asked to make is there already;
 * - `unreachable`: where it runs could not be reached: ssh could not connect or
 *   authenticate, the host key changed, the connection died, a namespace it
 *   runs in (or names with `ip -n`) is gone or cannot be entered, a console socket is not there;
 * - `timeout`: it ran out of time and was killed;
 * - `refused`: the tool (or the transport) refused its input;
 * - `denied`: the host did not let the user run it as root: `sudo -n` (an SSH
 *   host's `become`) would have had to ask for a password, or wants a terminal;
 * - `failed`: anything else.
 */
export type ErrorKind = "not-found" | "exists" | "unreachable" | "timeout" | "refused" | "denied" | "failed";

/** With exit status 255: iproute2 entering a namespace (ip netns exec, ip -n), or ssh itself. */
const UNREACHABLE = [
  /^Cannot open network namespace "/m,
  /^setting the network namespace ".*" failed/m,
  /^ssh: /m, // ssh: connect to host … port …: Connection refused | Network is unreachable; ssh: Could not resolve hostname …
  /^Host key verification failed\.$/m,
  /: Permission denied \(/m,
  /^Connection timed out during banner exchange$/m,
  /^Connection (?:closed|reset) by /m,
  /^kex_exchange_identification: /m,
  /^mux_client_\w+: .*failed/m, // the shared connection died under the command
  /^Timeout, server .* not responding/m,
];

/**
 * The program itself could not be run (not installed, not executable): `ip
 * netns exec` says so with exit 1, and coreutils' timeout and env (the SSH
 * wrapper) with 127 or 126. Its "No such file or directory" is no answer about
 * what the program was asked.
 */
const NOT_RUN = [/^exec of ".*" failed: /m];

/**
 * sudo's own refusals under -n: no NOPASSWD rule covers the command (sudo
 * asks for the password before it says whether the user may run it at all),
 * requiretty, or a command the rules name and this one is not.
 */
const DENIED = [/^sudo: a password is required$/m, /^sudo: sorry, you must have a tty to run sudo$/m, /^Sorry, user \S+ is not allowed to execute /m];

/** What to do about a failure of this kind, where the tool's own words do not say it. */
export const ADVICE: Partial<Record<ErrorKind, string>> = {
  denied:
    "the provider runs sudo -n, which never asks for a password: on that host, give the SSH user a sudoers rule with NOPASSWD " +
    "(and without requiretty), e.g. `<user> ALL=(root) NOPASSWD: ALL` in /etc/sudoers.d/ (docs/stacks.md: An SSH user who is not root)",
};

const EXISTS = [/ already exists/, /: File exists$/m, /\bOFPMMFC_METER_EXISTS\b/];

const NOT_FOUND = [
  /^ovs-vsctl: no (?:bridge|port|interface) named /m,
  /^ovs-vsctl: no row ".*" in table /m,
  /^ovs-ofctl: .* is not a bridge or a socket$/m,
  /\bOFPMMFC_UNKNOWN_METER\b/,
  /^Device ".*" does not exist\.$/m,
  /^Cannot find device "/m,
  // coreutils, busybox and `ip netns del`; "(No such file or directory)" in parentheses is a socket OVS could not reach, not an answer.
  /: No such file or directory$/m,
  /: No such process$/m,
];

const REFUSED = [
  /^ovs-ofctl: -:\d+: /m, // a line of the flows or meters fed on stdin
  /^ovs-(?:vsctl|ofctl): .*(?:constraint violation|does not contain a column|unknown (?:command|keyword|action|option)|syntax error|requires (?:at least|at most))/m,
  /\bOFPB(?:AC|IC|MC|RC)_[A-Z_]+\b/, // the switch refused a flow-mod's actions, instructions, match or request
  /\bOFPMMFC_[A-Z_]+\b/, // … or a meter-mod (EXISTS and UNKNOWN_METER are told apart above)
  /^Error: /m, // iproute2's argument errors
  /^Command line is not complete\./m,
];

/** The system calls of a socket's errors; spawn's are "spawn <program>". */
const SOCKET_CALLS = new Set(["connect", "read", "write"]);

/** Programs whose exit status 1 with nothing else wrong is a negative answer: test (false), readlink (not a link), ping (no reply came). */
const ANSWERS_NO = new Set(["test", "readlink", "ping"]);

/**
 * The kind of a failed command. `exitCode` null means it never exited by
 * itself: then `cause` says why — a TimeoutError (the name Node's own
 * timeouts use) ran out of time, a TypeError is an argument the transport
 * cannot carry (a NUL byte, a line break for a console), a socket that
 * could not be connected to or dropped the connection (a guest's console) is
 * an unreachable endpoint.
 */
export function classify(argv: readonly string[], exitCode: number | null, stderr: string, cause?: unknown): ErrorKind {
  if (exitCode === null) {
    if (cause instanceof Error && cause.name === "TimeoutError") return "timeout";
    if (cause instanceof TypeError) return "refused";
    if (cause instanceof Error && SOCKET_CALLS.has((cause as NodeJS.ErrnoException).syscall ?? "")) return "unreachable";
    return "failed";
  }
  const text = stderr.replace(/\r/g, ""); // ssh and serial consoles end lines with CRLF
  const any = (patterns: RegExp[]) => patterns.some((p) => p.test(text));
  if (exitCode === 255 && any(UNREACHABLE)) return "unreachable";
  if (exitCode === 126 || exitCode === 127 || any(NOT_RUN)) return "failed";
  if (any(DENIED)) return "denied";
  if (any(EXISTS)) return "exists";
  if (any(NOT_FOUND) || (exitCode === 1 && ANSWERS_NO.has(argv[0]))) return "not-found";
  if (any(REFUSED)) return "refused";
  return "failed";
}
