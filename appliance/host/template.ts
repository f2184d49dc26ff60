// Daemon configuration files are rendered from handlebars templates kept
// beside each subsystem (`*.hbs`, in the daemon's own syntax, so an operator
// reads them as the file they produce). The template text reaches the code as
// a generated module (`npm run emit:templates`), never read from disk at run
// time: the agent is also bundled into one file for the image.
import Handlebars from 'handlebars';

/**
 * Compile a template once, for every render after. Output is raw (the values
 * are validated before they get here, and HTML escaping would corrupt them),
 * a value the context lacks throws instead of rendering as nothing, and the
 * only logic a template may hold is `{{#each}}` and `{{#if}}`: every decision
 * is taken by the render function that builds the context.
 */
export function compileTemplate<Context extends object>(text: string): (context: Context) => string {
  const template = Handlebars.compile<Context>(text, {
    noEscape: true,
    strict: true,
    knownHelpersOnly: true,
    knownHelpers: { unless: false, with: false, log: false, lookup: false },
  });
  return (context) => template(context);
}
