/**
 * Shell completion scripts for bash, zsh and fish, generated from the command
 * tree itself, so that they never fall behind the commands and options.
 *
 * @module
 */

import type { CommandUnknownOpts } from "@commander-js/extra-typings";

/** The shells {@linkcode generateCompletions} writes scripts for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** One of {@linkcode SHELLS}. */
export type Shell = typeof SHELLS[number];

/** An option, as completion needs it. */
export interface OptionSpec {
  /** Flags such as `-U` and `--url`. */
  flags: string[];
  /** One-line description. */
  description: string;
  /** The option takes a value. */
  takesValue: boolean;
  /** The allowed values, if restricted. */
  choices?: string[];
  /** The value is a path. */
  path?: "file" | "dir";
}

/** A positional argument, as completion needs it. */
export interface ArgumentSpec {
  /** Name, e.g. `project_id`. */
  name: string;
  /** The allowed values, if restricted. */
  choices?: string[];
  /** Takes the remaining words. */
  variadic: boolean;
  /** The value is a path. */
  path?: "file" | "dir";
}

/** A command, as completion needs it. */
export interface CommandSpec {
  /** Name, e.g. `list-projects`. */
  name: string;
  /** One-line description. */
  description: string;
  /** Its options. */
  options: OptionSpec[];
  /** Its positional arguments. */
  arguments: ArgumentSpec[];
}

/** The whole tree, as completion needs it. */
export interface ProgramSpec {
  /** The program name, e.g. `qfieldcloud-cli`. */
  name: string;
  /** Options of the root command, valid everywhere. */
  globalOptions: OptionSpec[];
  /** The subcommands. */
  commands: CommandSpec[];
}

function pathKind(name: string): "file" | "dir" | undefined {
  if (/dir$|_path$/.test(name)) return "dir";
  if (/file|cert/.test(name)) return "file";
  return undefined;
}

function summary(text: string): string {
  return text.split("\n", 1)[0].replace(/\s+/g, " ").trim();
}

function optionSpecs(command: CommandUnknownOpts): OptionSpec[] {
  const specs: OptionSpec[] = command.options.filter((option) => !option.hidden).map((option) => {
    const flags = [option.short, option.long].filter((flag): flag is string => !!flag);
    const name = (option.long ?? option.short ?? "").replace(/^-+/, "");
    const takesValue = option.required || option.optional;
    return {
      flags,
      description: summary(option.description),
      takesValue,
      choices: option.argChoices,
      path: takesValue ? pathKind(name.replace(/-/g, "_")) : undefined,
    };
  });
  specs.push({ flags: ["-h", "--help"], description: "Show help", takesValue: false });
  return specs;
}

/**
 * Reads the completion model off a commander command tree.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { specFromCommand } from "./completions.ts";
 * const program = new Command("demo").option("--json");
 * program.command("hello").argument("<name>");
 * console.log(specFromCommand(program).commands[0].name); // "hello"
 * ```
 */
export function specFromCommand(program: CommandUnknownOpts): ProgramSpec {
  return {
    name: program.name(),
    globalOptions: optionSpecs(program),
    commands: program.commands.filter((command) => command.name() !== "help").map((command) => ({
      name: command.name(),
      description: summary(command.summary() || command.description()),
      options: optionSpecs(command),
      arguments: command.registeredArguments.map((argument) => ({
        name: argument.name(),
        choices: argument.argChoices,
        variadic: argument.variadic,
        path: pathKind(argument.name()),
      })),
    })),
  };
}

function functionName(program: string): string {
  return "_" + program.replace(/[^A-Za-z0-9]/g, "_");
}

function bashWords(words: string[]): string {
  return words.join(" ");
}

function bash(spec: ProgramSpec): string {
  const fn = functionName(spec.name);
  const all = [...spec.globalOptions];
  const valueOptions = new Set<string>();
  const valueCases: string[] = [];
  for (const option of [...all, ...spec.commands.flatMap((command) => command.options)]) {
    if (!option.takesValue) continue;
    const key = option.flags.join("|");
    if (valueOptions.has(key)) continue;
    valueOptions.add(key);
    const reply = option.choices
      ? `COMPREPLY=($(compgen -W "${bashWords(option.choices)}" -- "$cur"))`
      : option.path === "dir"
      ? `COMPREPLY=($(compgen -d -- "$cur"))`
      : option.path === "file"
      ? `COMPREPLY=($(compgen -f -- "$cur"))`
      : "COMPREPLY=()";
    valueCases.push(`    ${key}) ${reply}; return ;;`);
  }
  const globalValueFlags = spec.globalOptions.filter((option) => option.takesValue)
    .flatMap((option) => option.flags).join("|");
  const globalFlags = spec.globalOptions.flatMap((option) => option.flags);
  const commandCases = spec.commands.map((command) => {
    const flags = [...command.options.flatMap((option) => option.flags), ...globalFlags];
    const choices = command.arguments.flatMap((argument) => argument.choices ?? []);
    return `    ${command.name}) opts="${bashWords(flags)}"; words="${bashWords(choices)}" ;;`;
  });
  return `# bash completion for ${spec.name}
# Load it with:  source <(${spec.name} completions bash)
${fn}() {
  local cur prev cmd="" opts="" words="" i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${globalValueFlags}) ((i++)) ;;
      -*) ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$prev" in
${valueCases.join("\n")}
  esac
  case "$cmd" in
    "") opts="${bashWords(globalFlags)}"; words="${
    bashWords(spec.commands.map((command) => command.name))
  }" ;;
${commandCases.join("\n")}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -o default -F ${fn} ${spec.name}
`;
}

function zshQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function zshDescription(text: string): string {
  return text.replace(/[[\]]/g, "").replace(/:/g, "\\:");
}

function zshOption(option: OptionSpec): string[] {
  return option.flags.map((flag) => {
    let spec = `${flag}[${zshDescription(option.description)}]`;
    if (option.takesValue) {
      const name = flag.replace(/^-+/, "");
      const action = option.choices
        ? `(${option.choices.join(" ")})`
        : option.path === "dir"
        ? "_files -/"
        : option.path === "file"
        ? "_files"
        : "";
      spec += `:${name}:${action}`;
    }
    return zshQuote(spec);
  });
}

function zshArgument(argument: ArgumentSpec): string {
  const action = argument.choices
    ? `(${argument.choices.join(" ")})`
    : argument.path === "dir"
    ? "_files -/"
    : argument.path === "file"
    ? "_files"
    : "";
  return zshQuote(`${argument.variadic ? "*" : ""}:${argument.name}:${action}`);
}

function zsh(spec: ProgramSpec): string {
  const fn = functionName(spec.name);
  const commands = spec.commands.map((command) =>
    `    ${zshQuote(`${command.name}:${command.description.replace(/:/g, "\\:")}`)}`
  );
  const cases = spec.commands.map((command) => {
    const specs = [...command.options.flatMap(zshOption), ...command.arguments.map(zshArgument)];
    return `        ${command.name})\n          _arguments -s ${specs.join(" ")}\n          ;;`;
  });
  return `#compdef ${spec.name}
# zsh completion for ${spec.name}
# Load it with:  source <(${spec.name} completions zsh)  or save it as _${spec.name} in $fpath
${fn}() {
  local curcontext="$curcontext" state line
  local -a commands
  commands=(
${commands.join("\n")}
  )
  _arguments -C -s ${spec.globalOptions.flatMap(zshOption).join(" ")} \\
    '1: :->command' \\
    '*:: :->args'
  case $state in
    command)
      _describe -t commands '${spec.name} command' commands
      ;;
    args)
      case $line[1] in
${cases.join("\n")}
      esac
      ;;
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${spec.name}
fi
`;
}

function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function fishOption(program: string, option: OptionSpec, condition?: string): string {
  const parts = [`complete -c ${program}`];
  if (condition) parts.push(`-n ${fishQuote(condition)}`);
  for (const flag of option.flags) {
    parts.push(flag.startsWith("--") ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`);
  }
  if (option.takesValue) {
    parts.push(option.path ? "-r -F" : "-r -f");
    if (option.choices) parts.push(`-a ${fishQuote(option.choices.join(" "))}`);
  }
  parts.push(`-d ${fishQuote(option.description)}`);
  return parts.join(" ");
}

function fish(spec: ProgramSpec): string {
  const lines = [
    `# fish completion for ${spec.name}`,
    `# Load it with:  ${spec.name} completions fish | source`,
    `complete -c ${spec.name} -f`,
  ];
  for (const option of spec.globalOptions) lines.push(fishOption(spec.name, option));
  for (const command of spec.commands) {
    lines.push(
      `complete -c ${spec.name} -n '__fish_use_subcommand' -a ${command.name} -d ${
        fishQuote(command.description)
      }`,
    );
  }
  for (const command of spec.commands) {
    const condition = `__fish_seen_subcommand_from ${command.name}`;
    for (const option of command.options) lines.push(fishOption(spec.name, option, condition));
    for (const argument of command.arguments) {
      if (argument.choices) {
        lines.push(
          `complete -c ${spec.name} -n ${fishQuote(condition)} -a ${
            fishQuote(argument.choices.join(" "))
          }`,
        );
      } else if (argument.path) {
        lines.push(`complete -c ${spec.name} -n ${fishQuote(condition)} -F`);
      }
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * The completion script for a shell.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { generateCompletions, specFromCommand } from "./completions.ts";
 * const program = new Command("demo").option("--json");
 * program.command("hello");
 * console.log(generateCompletions("fish", specFromCommand(program)));
 * ```
 */
export function generateCompletions(shell: Shell, spec: ProgramSpec): string {
  switch (shell) {
    case "bash":
      return bash(spec);
    case "zsh":
      return zsh(spec);
    case "fish":
      return fish(spec);
  }
}
