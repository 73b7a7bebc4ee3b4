/**
 * Prints the README options table, generated from the option registry:
 *   npx node scripts/options-table.ts > docs/options.md
 */

import { renderOptionsMarkdown } from '../src/config/index.ts';

process.stdout.write(renderOptionsMarkdown());
