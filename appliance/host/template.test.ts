import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { generatedModulePath, generatedTemplateModule, templateConstant, templateFiles } from '../../scripts/emit-templates.js';
import { compileTemplate } from './template.js';

describe('the generated template modules', () => {
  const templates = templateFiles();

  it('exist for the daemons that have templates', () => {
    const names = templates.map((path) => path.split('/appliance/')[1]);
    for (const expected of ['drivers/dhcp/dnsmasq.conf.hbs', 'drivers/routing/bird.conf.hbs']) assert.ok(names.includes(expected), names.join(', '));
  });

  for (const path of templates) {
    it(`match ${path.split('/appliance/')[1]} (run npm run emit:templates after editing a template)`, () => {
      assert.equal(readFileSync(generatedModulePath(path), 'utf8'), generatedTemplateModule(path));
    });
  }

  it('have no module left without its template', () => {
    const modules: string[] = [];
    const visit = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) visit(join(dir, entry.name));
        else if (entry.name.endsWith('.hbs.ts')) modules.push(join(dir, entry.name));
      }
    };
    visit(fileURLToPath(new URL('..', import.meta.url)));
    for (const module of modules) assert.ok(existsSync(module.slice(0, -'.ts'.length)), `${module} has no template`);
  });

  it('name their constant after the file', () => {
    assert.equal(templateConstant('/x/dnsmasq.conf.hbs'), 'dnsmasqConfTemplate');
    assert.equal(templateConstant('/x/dnsmasq.hosts.hbs'), 'dnsmasqHostsTemplate');
  });
});

describe('compileTemplate', () => {
  it('writes values as they are, with no HTML escaping', () => {
    const render = compileTemplate<{ value: string }>('value={{value}}\n');
    assert.equal(render({ value: `<a href="x">&'` }), `value=<a href="x">&'\n`);
  });

  it('drops the lines of block tags and comments, so a template reads as the file it writes', () => {
    const render = compileTemplate<{ items: string[]; on: boolean }>('{{!-- why --}}\nfirst\n{{#each items}}\nitem {{this}}\n{{/each}}\n{{#if on}}\non\n{{else}}\noff\n{{/if}}\n');
    assert.equal(render({ items: ['a', 'b'], on: false }), 'first\nitem a\nitem b\noff\n');
  });

  it('throws on a value the context lacks instead of writing nothing', () => {
    const render = compileTemplate<object>('a={{missing}}\n');
    assert.throws(() => render({}), /"missing" not defined/);
  });

  it('allows no logic beyond #each and #if', () => {
    for (const text of ['{{#unless a}}x{{/unless}}', '{{#with a}}x{{/with}}', '{{lookup a "b"}}', '{{custom a}}']) {
      assert.throws(() => compileTemplate<{ a: object }>(text)({ a: {} }), /knownHelpersOnly/, text);
    }
  });
});
