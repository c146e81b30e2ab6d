# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PRIVATE to the criu.check collection: the HTML page of the fleet report.

One self-contained file (no network resource: inline CSS and script): a hosts x
probes matrix grouped by category, status colours, per-category and per-host
counts, the causes, a filter box (pre-filled from the page address:
criu-report.html#filter=TEXT), and each cell's message, evidence and fix on
hover (title) or click (a panel, which criu-report.html#cell=HOST/PROBE opens).  The matrix is rendered here, so the page
reads without script; the details of the cells travel once, as a string table
in a JSON block, so that 200 hosts x 67 probes stay a few hundred kilobytes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from html import escape as _escape

from ansible_collections.criu.check.plugins.module_utils import _decide

from ansible_collections.criu.check.plugins.plugin_utils._fleet import (
    CATEGORIES, OUTCOMES, OUTCOME_TITLES, drift_text, runtime_reasons, _criu_cell, _runtimes_cell, _short_list, _yes,
)


def esc(value):
    return _escape('' if value is None else str(value), quote=True)


STATUS_CLASS = {'supported': 'sS', 'unsupported': 'sU', 'unknown': 'sK', 'not_applicable': 'sN', 'error': 'sE'}
# Each cell's status as text too, not by its colour alone: the page read without its style (a text browser,
# a screen reader, a mail client that strips <style>) or by an operator who cannot tell red from green.
STATUS_MARK = {'supported': '+', 'unsupported': 'x', 'unknown': '?', 'not_applicable': '.', 'error': '!'}

CSS = """
:root{--ok:#2e7d32;--bad:#c62828;--warn:#ef6c00;--unk:#f9a825;--na:#b0bec5;--err:#6a1b9a;--gone:#455a64}
*{box-sizing:border-box}body{font:13px/1.35 system-ui,sans-serif;margin:0;color:#212121;background:#fafafa}
header{padding:10px 16px;background:#fff;border-bottom:1px solid #ddd;position:sticky;top:0;z-index:5}
h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:14px 16px 6px}.meta{color:#555}
.outcomes span{display:inline-block;margin:4px 6px 0 0;padding:2px 8px;border-radius:10px;color:#fff;font-weight:600}
.o-ready{background:var(--ok)}.o-not_ready{background:var(--bad)}.o-undecided{background:var(--unk);color:#222!important}
.o-failed{background:var(--err)}.o-unreachable{background:var(--gone)}.o-changed{background:#1565c0}
#filter{width:28em;padding:4px 6px;margin-top:6px;font:inherit}#shown{margin-left:8px;color:#555}
.wrap{overflow:auto;max-height:calc(100vh - 120px);margin:0 16px 16px;border:1px solid #ddd;background:#fff}
table.m{border-collapse:separate;border-spacing:0}
.m th,.m td{border-right:1px solid #eee;border-bottom:1px solid #eee;padding:1px 4px;white-space:nowrap}
.m thead{position:sticky;top:0;z-index:3}.m thead th{background:#f5f5f5}.m thead th.f{white-space:normal;max-width:7em;font-size:12px}
.m thead tr.r2 th.p{writing-mode:vertical-rl;transform:rotate(180deg);height:150px;font-weight:400;padding:2px 0;
 vertical-align:bottom;width:15px;max-width:15px}
.m tbody th{position:sticky;left:0;background:#fff;text-align:left;z-index:2}
.m td.c{width:15px;min-width:15px;max-width:15px;padding:0;cursor:pointer;text-align:center;color:#fff;font:700 11px/1 monospace}
.m td.sK,.m td.sN{color:#222}
.sS{background:var(--ok)}.sU{background:var(--bad)}.sU.x{background:var(--warn)}.sK{background:var(--unk)}
.sN{background:var(--na)}.sE{background:var(--err)}.s-{background:repeating-linear-gradient(45deg,#eee,#eee 3px,#ccc 3px,#ccc 6px)}
td.n{text-align:right}.cat{text-align:center;border-left:2px solid #999!important}.cs{border-left:2px solid #999!important}
tr.hidden{display:none}.o{font-weight:600}.why{color:#555;max-width:40em;overflow:hidden;text-overflow:ellipsis}
#detail{position:fixed;right:12px;bottom:12px;width:36em;max-height:45vh;overflow:auto;background:#fff;border:1px solid #888;
 box-shadow:0 2px 8px rgba(0,0,0,.3);padding:8px 10px;z-index:9;white-space:pre-wrap;font:12px/1.35 monospace}
.legend span{display:inline-block;padding:0 6px;margin-right:4px;color:#fff}.legend .sK,.legend .sN{color:#222}
details.causes summary h2{display:inline-block}details.causes summary{margin-left:16px;cursor:pointer}
table.causes{margin:0 16px;border-collapse:collapse;background:#fff}.causes td,.causes th{border:1px solid #ddd;padding:3px 6px;
 text-align:left;vertical-align:top}
"""

SCRIPT = r"""
(function(){
var data=JSON.parse(document.getElementById('cells').textContent);
var S=data.strings, box=document.getElementById('filter'), shown=document.getElementById('shown');
var rows=Array.prototype.slice.call(document.querySelectorAll('#matrix tbody tr'));
function detail(td){
  var tr=td.parentNode, h=tr.getAttribute('data-host'), p=+td.getAttribute('data-p');
  var probe=data.probes[p], c=(data.cells[h]||{})[p];
  if(!c){return h+' / '+probe.id+': no answer from this host';}
  return h+' / '+probe.id+' ('+probe.category+')\nstatus: '+S[c[0]]+'\nmessage: '+S[c[1]]+
    '\nevidence: '+S[c[2]]+'\nfix: '+S[c[3]];
}
document.getElementById('matrix').addEventListener('mouseover',function(ev){
  var td=ev.target; if(td.tagName==='TD'&&td.classList.contains('c')&&!td.title){td.title=detail(td);}
});
function show(td){
  var d=document.getElementById('detail'); d.textContent=detail(td)+'\n\n(click the panel to close)'; d.hidden=false;
}
document.getElementById('matrix').addEventListener('click',function(ev){
  var td=ev.target; if(td.tagName==='TD'&&td.classList.contains('c')){show(td);}
});
document.getElementById('detail').addEventListener('click',function(){this.hidden=true;});
function apply(){
  var terms=box.value.toLowerCase().split(/\s+/).filter(Boolean), n=0;
  rows.forEach(function(tr){
    // a whole word (ready is not not_ready, missing:tcp not missing:tcp_window), or any part of the host's name
    var words=tr.getAttribute('data-search').split(' '), host=tr.getAttribute('data-host').toLowerCase();
    var ok=terms.every(function(t){return words.indexOf(t)>=0||host.indexOf(t)>=0;});
    tr.classList.toggle('hidden',!ok); if(ok){n++;}
  });
  shown.textContent=n+' of '+rows.length+' hosts shown'; shown.setAttribute('data-count',n);
}
function decoded(s){  // a malformed %-escape in a link is read as written, not a stopped script
  try{return decodeURIComponent(s);}catch(e){return s;}
}
function fromAddress(){
  var where=location.hash+'&'+location.search, m=/[#&?]filter=([^&]*)/.exec(where), c=/[#&?]cell=([^&]*)/.exec(where);
  if(m){box.value=decoded(m[1].replace(/\+/g,' '));}
  if(c){  // cell=HOST/PROBE: open that cell's details (a link to share)
    var v=decoded(c[1]), k=v.lastIndexOf('/'), h=v.slice(0,k), id=v.slice(k+1);
    var p=data.probes.map(function(x){return x.id;}).indexOf(id);
    var tr=rows.filter(function(r){return r.getAttribute('data-host')===h;})[0];
    var td=tr&&tr.querySelector('td.c[data-p="'+p+'"]'); if(td){show(td);}
  }
}
box.addEventListener('input',function(){
  apply(); if(history.replaceState){history.replaceState(null,'','#filter='+encodeURIComponent(box.value));}
});
window.addEventListener('hashchange',function(){fromAddress();apply();});
fromAddress(); apply();
document.body.setAttribute('data-ready','1');
})();
"""


def _search_text(e):
    words = [e['host'], e['outcome'], 'outcome:' + e['outcome']]
    if e['facts'] is not None:
        words += [e['verdict'], 'verdict:' + e['verdict'], str(e['kernel']['release'])]
        words += ['missing:' + i for i in e['missing_required'] + e['missing_extra'] + e['missing_experimental']]
        words += ['unknown:' + i for i in e['unknown']]
        if e['criu']['installed']:
            words.append('criu:%s' % (e['criu']['version'] or ''))
        if e['drift'] and e['drift']['changed']:
            words.append('changed')
    return ' '.join(words).lower()


def _cell_details(report):
    """The details of every cell (status, message, evidence, fix) as indexes into one table of strings, so
    that a text shared by many cells travels once: (strings, {host: [[status, message, evidence, fix] or
    None per probe]})."""
    strings, index, cells = [], {}, {}

    def intern(value):
        if not isinstance(value, str):
            value = json.dumps(value, sort_keys=True, default=str) if value not in (None, {}, []) else ''
        if value not in index:
            index[value] = len(strings)
            strings.append(value)
        return index[value]

    for e in report['hosts']:
        if e['facts'] is None:
            continue
        host_probes = e['facts'].get('probes') or {}
        row = []
        for p in report['probes']:
            r = host_probes.get(p['id'])
            if not isinstance(r, dict):
                row.append(None)
                continue
            row.append([intern(r.get('status') or ''), intern(r.get('message') or ''), intern(r.get('evidence')),
                        intern(r.get('fix') or '')])
        cells[e['host']] = row
    return strings, cells


def _header(report):
    """The head of the page and its sticky header: the run, the outcomes' counts, the filter box, the legend."""
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width">',
           '<title>CRIU fleet report - %s</title>' % esc(report['generated']), '<style>%s</style></head>' % CSS,
           '<body data-total="%d">' % report['total'], '<header>', '<h1>CRIU fleet report</h1>',
           '<div class="meta">run <time id="generated">%s</time> &middot; inventory <code id="inventory">%s</code>'
           ' &middot; <span id="total" data-count="%d">%d hosts</span></div>' % (
               esc(report['generated']), esc(', '.join(report['inventory'] or []) or '-'), report['total'], report['total']),
           '<div class="outcomes">']
    for o in OUTCOMES:
        out.append('<span class="o-%s" id="count-%s" data-outcome="%s" data-count="%d">%s: %d</span>' % (
            o, o, o, report['counts'][o], esc(OUTCOME_TITLES[o]), report['counts'][o]))
    out.append('<span class="o-changed" id="count-changed" data-count="%d">changed since last run: %d</span>' % (
        len(report['changed']), len(report['changed'])))
    out.append('</div>')
    out.append('<input id="filter" type="search" placeholder="filter: host name, ready, not_ready, missing:ID, unknown:ID, changed"'
               ' aria-label="filter hosts"><span id="shown" data-count="%d">%d of %d hosts shown</span>' % (
                   report['total'], report['total'], report['total']))
    out.append('<div class="legend">%s%s</div>' % (''.join(
        '<span class="%s">%s %s</span>' % (STATUS_CLASS[s], STATUS_MARK[s], s) for s in ('supported', 'unsupported', 'unknown', 'not_applicable', 'error')),
        '<span class="s-" style="color:#222">no answer</span>'))
    out.append('</header>')
    return out


def _causes(causes):
    """What is missing, by cause: what stops checkpointing open, the extra and experimental features folded."""
    out = []
    major = [c for c in causes if c['severity'] not in ('extra', 'experimental')]
    minor = [c for c in causes if c['severity'] in ('extra', 'experimental')]
    for title, group, is_open in (('What stops or clouds checkpointing, by cause', major, True),
                                  ('Missing extra and experimental features, by cause', minor, False)):
        if not group:
            continue
        out.append('<details class="causes"%s><summary><h2>%s (%d)</h2></summary>' % (' open' if is_open else '', title, len(group)))
        out.append('<table class="causes"><tr><th>severity</th><th>cause</th><th>fix</th><th>hosts</th></tr>')
        for c in group:
            out.append('<tr class="cause" data-severity="%s" data-hosts="%d"><td>%s</td><td>%s%s</td><td>%s</td>'
                       '<td title="%s">%d</td></tr>' % (
                           esc(c['severity']), len(c['hosts']), esc(c['severity']), esc(c['title']),
                           ((' <small>(%s)</small>' % esc(', '.join(c['probes'])))
                            if c['kind'] in ('library', 'unknown') and c['probes'] else '') +
                           ('<br><small>so %s cannot checkpoint</small>' % esc(', '.join(sorted(c['runtimes'])))
                            if c['runtimes'] else ''),
                           esc(c['fix'] or ''), esc(', '.join(c['hosts'])), len(c['hosts'])))
        out.append('</table></details>')
    return out


def _migration(migration):
    """Migration between the hosts asked for: the best mode from each source (row) to each destination
    (column), its reasons on hover."""
    names = (migration or {}).get('hosts') or []
    if len(names) < 2:
        return []
    out = ['<details class="causes" open><summary><h2>Migration between %d hosts</h2></summary>' % len(names)]
    out.append('<table class="causes" id="migration"><tr><th>from \\ to</th>%s</tr>' % ''.join(
        '<th>%s</th>' % esc(n) for n in names))
    for src in names:
        cells = []
        for dst in names:
            if src == dst:
                cells.append('<td>-</td>')
                continue
            pair = migration['pairs'][src][dst]
            cells.append('<td class="mig" data-cell="%s" title="%s">%s</td>' % (
                esc(pair['cell']), esc('\n'.join(pair['reasons'] + ['fix: ' + f for f in pair['fixes']])),
                esc(pair['cell'])))
        out.append('<tr><th>%s</th>%s</tr>' % (esc(src), ''.join(cells)))
    out.append('</table></details>')
    return out


# The matrix's columns before the probes'.
FIXED_COLUMNS = ('host', 'outcome', 'kernel ready', 'criu usable', 'runtimes ready', 'verdict', 'kernel',
                 'missing required', 'missing extra', 'undecided', 'changed')


def _probe_status(e, probe_id):
    """A host's status of one probe; None without an answer."""
    probe = (e['facts'].get('probes') or {}).get(probe_id)
    return probe.get('status') if isinstance(probe, dict) else None


def _matrix_head(by_category, answered):
    """The matrix's two header rows: the fixed columns, then the categories (with how many hosts have every probe
    of the category met) over their probes."""
    out = ['<h2>Hosts &times; probes</h2><div class="wrap"><table class="m" id="matrix"><thead><tr class="r1">']
    for title in FIXED_COLUMNS:
        out.append('<th class="f" rowspan="2">%s</th>' % esc(title))
    for category, ps in by_category:
        # Every probe of the category's columns, each with an answer that is met: a host without an answer for
        # one (no probes of the category at all, or fewer) has not shown it complete.
        complete = sum(1 for e in answered
                       if all(_decide.is_met(_probe_status(e, p['id'])) for p in ps))
        out.append('<th class="cat" colspan="%d" data-category="%s" data-complete="%d" title="hosts with every %s probe met">'
                   '%s <small>(%d/%d hosts complete)</small></th>' % (
                       len(ps), category, complete, category, category, complete, len(answered)))
    out.append('</tr><tr class="r2">')
    for category, ps in by_category:
        for i, p in enumerate(ps):
            out.append('<th class="p%s" title="%s">%s</th>' % (' cs' if i == 0 else '', esc(p['id']), esc(p['id'])))
    out.append('</tr></thead><tbody>')
    return out


def _runtimes_title(runtimes):
    if runtimes is None:
        return 'not reported by these facts'
    return '; '.join('%s %s: %s%s' % (name, r['version'] or '', r['checkpoint'],
                                      (' (' + runtime_reasons(r) + ')') if r['reasons'] else '')
                     for name, r in runtimes.items()) or 'none installed'


def _host_row(e, by_category, col, drift_enabled):
    """One host's line of the matrix: its answers, then a cell per probe coloured by its status (the cell's
    details are in the JSON block); a host without facts gets its reason and empty cells."""
    attrs = 'data-host="%s" data-outcome="%s" data-search="%s"' % (esc(e['host']), e['outcome'], esc(_search_text(e)))
    if e['facts'] is None:
        out = ['<tr %s data-missing-required="" data-missing-extra="" data-undecided=""><th>%s</th>'
               '<td class="o">%s</td><td colspan="%d" class="why">%s</td>' % (
                   attrs, esc(e['host']), esc(e['outcome']), len(FIXED_COLUMNS) - 2, esc(e['reason']))]
        for category, ps in by_category:
            for i, p in enumerate(ps):
                out.append('<td class="c s-%s" data-p="%d"></td>' % (' cs' if i == 0 else '', col[p['id']]))
        out.append('</tr>')
        return out
    host_probes = e['facts'].get('probes') or {}
    out = ['<tr %s data-missing-required="%d" data-missing-extra="%d" data-undecided="%d">' % (
        attrs, len(e['missing_required']), len(e['missing_extra']), len(e['unknown']))]
    out.append('<th>%s</th><td class="o">%s</td><td>%s</td><td>%s</td><td title="%s">%s</td><td>%s</td><td>%s</td>'
               '<td title="%s">%s</td><td class="n">%d</td><td class="n">%d</td><td title="%s">%s</td>' % (
                   esc(e['host']), esc(e['outcome']), _yes(e['kernel_ready']), esc(_criu_cell(e['criu'])),
                   esc(_runtimes_title(e['runtimes'])), esc(_runtimes_cell(e['runtimes']).strip()),
                   esc(e['verdict']), esc(e['kernel']['release']),
                   esc(', '.join(e['missing_required'])), esc(_short_list(e['missing_required'], 24)), len(e['missing_extra']),
                   len(e['unknown']), esc(json.dumps(e['drift'], sort_keys=True) if e['drift'] else e.get('drift_note') or ''),
                   esc(drift_text(e['drift'], e.get('drift_note')) if drift_enabled else 'n/a (no fact cache)')))
    for category, ps in by_category:
        for i, p in enumerate(ps):
            r = host_probes.get(p['id'])
            status = r.get('status') if isinstance(r, dict) else None
            cls = STATUS_CLASS.get(status, 's-')
            if status == 'unsupported' and category != 'required':
                cls += ' x'
            out.append('<td class="c %s%s" data-p="%d" data-s="%s">%s</td>' % (
                cls, ' cs' if i == 0 else '', col[p['id']], esc(status or ''), STATUS_MARK.get(status, '')))
    out.append('</tr>')
    return out


def _matrix_foot(by_category, answered):
    """The matrix's last row: how many of the hosts that answered have each probe met."""
    out = ['</tbody><tfoot><tr><th>hosts with the probe met</th><td colspan="%d"></td>' % (len(FIXED_COLUMNS) - 1)]
    for category, ps in by_category:
        for i, p in enumerate(ps):
            met = sum(1 for e in answered if _decide.is_met(_probe_status(e, p['id'])))
            out.append('<td class="n%s" data-probe="%s" data-met="%d" title="%s: %d of %d hosts">%d</td>' % (
                ' cs' if i == 0 else '', esc(p['id']), met, esc(p['id']), met, len(answered), met))
    out.append('</tr></tfoot></table></div>')
    return out


def render_html(report):
    """The whole page: the header, the causes, the migration matrix, the hosts x probes matrix, and the
    cells' details with the script that shows them."""
    probes = report['probes']
    by_category = [(c, [p for p in probes if p['category'] == c]) for c in CATEGORIES]
    by_category = [(c, ps) for c, ps in by_category if ps]
    # The fleet's counts per category and per probe are over the hosts that answered.
    answered = [e for e in report['hosts'] if e['facts'] is not None]
    col = dict((p['id'], n) for n, p in enumerate(probes))
    out = _header(report) + _causes(report['causes']) + _migration(report.get('migration'))
    out.extend(_matrix_head(by_category, answered))
    for e in report['hosts']:
        out.extend(_host_row(e, by_category, col, report.get('drift_enabled', True)))
    out.extend(_matrix_foot(by_category, answered))
    strings, cells = _cell_details(report)
    out.append('<div id="detail" hidden></div>')
    payload = json.dumps({'probes': probes, 'strings': strings, 'cells': cells}, separators=(',', ':'))
    # No < at all in the block (JSON reads \u003c as <): "</script>" would end it early, and "<!--" then
    # "<script" would make the browser take the block's own </script> for something else.
    out.append('<script type="application/json" id="cells">%s</script>' % payload.replace('<', '\\u003c'))
    out.append('<script>%s</script>' % SCRIPT)
    out.append('</body></html>')
    return '\n'.join(out) + '\n'
