/**
 * Node.js options that open a router to other local users or leak its memory, whether
 * given on node's command line or through NODE_OPTIONS from the environment: the inspector
 * (any local user who can reach 127.0.0.1:9229 runs code inside the router), heap
 * snapshots on a signal (private keys in a file), code preloaded with --require/--import.
 * As root they are refused (exit before anything binds); otherwise each is one warning.
 * Pure: the caller passes what it found.
 */

export interface NodeRuntimeFacts {
  /** process.execArgv */
  execArgv: readonly string[];
  /** process.env.NODE_OPTIONS */
  nodeOptions: string | undefined;
  /** inspector.url(): defined when the inspector is already listening */
  inspectorUrl: string | undefined;
  /** process.getuid() === 0 */
  isRoot: boolean;
}

export interface NodeRuntimeVerdict {
  /** why uwrouter must not start, or undefined */
  refuse?: string;
  warnings: string[];
}

/** NODE_OPTIONS split as Node splits it: on spaces, "double quotes" group, \ escapes in quotes. */
export function splitNodeOptions(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuotes = false;
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes && c === '\\' && i + 1 < text.length) {
      cur += text[++i];
    } else if (c === '"') {
      inQuotes = !inQuotes;
      has = true;
    } else if (c === ' ' && !inQuotes) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

const OPENS_INSPECTOR = /^--inspect(-brk|-wait|-brk-node)?(=.*)?$/;
const HEAP_ON_SIGNAL = /^--heapsnapshot-signal(=.*)?$/;
const REPORT_ON_SIGNAL = /^--report-on-signal$|^--report-signal(=.*)?$/;
const PRELOADS = /^(-r|--require|--import|--loader|--experimental-loader)(=.*)?$/;

function flagName(token: string): string {
  const eq = token.indexOf('=');
  return eq === -1 ? token : token.slice(0, eq);
}

export function checkNodeRuntime(facts: NodeRuntimeFacts): NodeRuntimeVerdict {
  const sources: Array<[string, readonly string[]]> = [
    ['node command line', facts.execArgv],
    ['NODE_OPTIONS', facts.nodeOptions ? splitNodeOptions(facts.nodeOptions) : []],
  ];
  const dangerous: string[] = [];
  const warnings: string[] = [];
  for (const [where, tokens] of sources) {
    for (const t of tokens) {
      if (OPENS_INSPECTOR.test(t)) {
        dangerous.push(
          `${flagName(t)} (${where}) opens the inspector: any local user reaching its port can run code in this process`,
        );
      } else if (HEAP_ON_SIGNAL.test(t)) {
        dangerous.push(
          `${flagName(t)} (${where}) writes the whole heap, private keys included, to a file on a signal`,
        );
      } else if (REPORT_ON_SIGNAL.test(t)) {
        warnings.push(
          `${flagName(t)} (${where}): a signal writes a diagnostic report (environment, command line) to a file`,
        );
      } else if (PRELOADS.test(t)) {
        warnings.push(`${flagName(t)} (${where}) loaded code into this process before uwrouter started`);
      }
    }
  }
  if (facts.inspectorUrl !== undefined && dangerous.length === 0) {
    dangerous.push(
      `the inspector is listening (${facts.inspectorUrl}): any local user reaching it can run code in this process`,
    );
  }
  if (dangerous.length > 0 && facts.isRoot) {
    return {
      refuse: `refusing to run as root with ${dangerous.join('; ')}. Unset NODE_OPTIONS / drop the flag, or debug as an unprivileged user`,
      warnings,
    };
  }
  return { warnings: [...dangerous, ...warnings] };
}
