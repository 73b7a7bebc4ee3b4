export { Config, type OptionKind, type OptionSpec, type RouterName } from './config.ts';
export { renderHelp, renderOptionsMarkdown } from './help.ts';
export { parseIni, splitIniArgument } from './ini.ts';
export { configFromValues, type LoadedConfig, type LoadOptions, loadConfig } from './load.ts';
export { parseBooleanWord } from './option-value.ts';
export { LOG_FORMATS, LOG_LEVELS } from './options-global.ts';
export { SUBSCRIPTION_ALGOS } from './options-subscription.ts';
export { findOption, OPTION_GROUPS, OPTION_INDEX, OPTIONS } from './registry.ts';
