import { VERSION } from '../version.js';
import { RULES } from './rules/index.js';
import type { PrFinding } from './pr-analysis.js';

/**
 * SARIF 2.1.0 for GitHub code scanning: one run, Palisade as the driver with every rule it ran
 * (secret rules are added as they occur), results with their region, level, confidence and a
 * stable fingerprint, suppressed findings carried with their justification, one-line fixes as
 * SARIF fixes. Validated in the tests with Microsoft's SARIF multitool.
 */
type Json = Record<string, unknown>;

const LEVEL = { high: 'error', medium: 'warning', low: 'note' } as const;

export function toSarif(
  findings: readonly PrFinding[],
  opts: { commit: string; ref?: string; repositoryUri: string },
): Json {
  const rules: Json[] = RULES.map((r) => ({
    id: r.id,
    name: r.name.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : '')),
    shortDescription: { text: r.short },
    fullDescription: { text: `${r.short} ${r.help}` },
    help: { text: r.help },
    defaultConfiguration: { level: r.severity },
    properties: {
      tags: ['security', r.cwe],
      precision: 'high',
      'security-severity': r.severity === 'error' ? '7.5' : '5.0',
    },
  }));
  const index = new Map(rules.map((r, i) => [r.id as string, i]));
  for (const f of findings) {
    if (index.has(f.ruleId)) continue;
    index.set(f.ruleId, rules.length);
    rules.push({
      id: f.ruleId,
      name: f.kind === 'secret' ? 'HardCodedCredential' : 'ModelReviewNote',
      shortDescription: {
        text:
          f.kind === 'secret'
            ? 'A credential is committed to the repository.'
            : 'A note from the model-assisted review.',
      },
      fullDescription: {
        text:
          f.kind === 'secret'
            ? 'A credential is committed to the repository. Rotate it, remove it from the code and load it from a secret store.'
            : 'A note from the model-assisted review; verify it before acting.',
      },
      help: {
        text:
          f.kind === 'secret'
            ? 'Rotate the credential and load it from the environment or a secret manager.'
            : 'Verify the note; the model may be wrong.',
      },
      defaultConfiguration: { level: f.kind === 'secret' ? 'error' : 'note' },
      properties: { tags: ['security', f.kind === 'secret' ? 'CWE-798' : 'model-review'] },
    });
  }
  const results = findings.map((f) => {
    const region: Json = {
      startLine: f.line,
      startColumn: f.column,
      endLine: Math.max(f.endLine, f.line),
      ...(f.endLine > f.line || f.endColumn > f.column
        ? { endColumn: f.endLine > f.line ? f.endColumn : Math.max(f.endColumn, f.column + 1) }
        : {}),
    };
    const result: Json = {
      ruleId: f.ruleId,
      ruleIndex: index.get(f.ruleId),
      level: LEVEL[f.confidence],
      message: { text: f.message },
      locations: [
        { physicalLocation: { artifactLocation: { uri: encodeURI(f.path), uriBaseId: '%SRCROOT%' }, region } },
      ],
      partialFingerprints: { 'palisade/v1': f.fingerprint },
      properties: { confidence: f.confidence, kind: f.kind },
    };
    if (f.suppressed)
      result.suppressions = [
        {
          kind: f.suppressed.source === 'inline' ? 'inSource' : 'external',
          status: 'accepted',
          justification: f.suppressed.reason,
        },
      ];
    if (f.suggestion) {
      result.fixes = [
        {
          description: { text: 'Suggested fix' },
          artifactChanges: [
            {
              artifactLocation: { uri: encodeURI(f.path), uriBaseId: '%SRCROOT%' },
              replacements: [
                {
                  deletedRegion: {
                    startLine: f.suggestion.line,
                    startColumn: 1,
                    endLine: f.suggestion.line,
                    endColumn: f.suggestion.oldLength + 1,
                  },
                  insertedContent: { text: f.suggestion.text },
                },
              ],
            },
          ],
        },
      ];
    }
    return result;
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'Palisade',
            semanticVersion: VERSION,
            informationUri: 'https://github.com/palisade-security/palisade',
            rules,
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { description: { text: 'The repository root.' } } },
        versionControlProvenance: [
          {
            repositoryUri: opts.repositoryUri,
            revisionId: opts.commit,
            mappedTo: { uriBaseId: '%SRCROOT%' },
            ...(opts.ref ? { branch: opts.ref } : {}),
          },
        ],
        results,
        columnKind: 'utf16CodeUnits',
      },
    ],
  };
}
