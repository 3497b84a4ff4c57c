/**
 * Microsoft Sentinel, in every shape a playbook or relay really sends:
 * - the Logic App "Microsoft Sentinel incident" trigger body (`object.properties` with `relatedEntities[]`
 *   of `kind` + camelCase `properties`, `workspaceInfo`, `alerts[]`);
 * - the ARM incident resource (`properties` plus a top-level `Entities` array);
 * - the "alert" trigger body / SecurityAlert row (`AlertDisplayName`, `Entities` as an array or a JSON
 *   string whose entities use `$id`/`$ref`, `ExtendedProperties` object or string);
 * - custom Logic App bodies built from those triggers (flat `alertDisplayName`, `relatedEntities`, …);
 * - the Microsoft Graph security alert (`alerts_v2`, `evidence[]` with `@odata.type`);
 * - snake_case serialisations of all of these (the Python SDK's `as_dict()`).
 * Keys are read case- and underscore-insensitively, so `incidentNumber`, `IncidentNumber` and
 * `incident_number` are one field.
 */

import type { ExtractedIndicator, IndicatorType, NormalizedAlertInput, ValidationResult } from '@calseta/plugin-sdk';
import {
  checkIndicator,
  collectIndicators,
  defineAlertSource,
  detectionRuleRef,
  hmacSignature,
  indicator,
  isRecord,
  normalizeSeverity,
  parseTimestamp,
  str,
} from '@calseta/plugin-sdk';
import type { DetectionRuleRef } from '@calseta/schema';
import {
  Facts,
  fact,
  indicatorFields,
  notAnObject,
  result,
  secondsBetween,
  severityFlags,
  text,
  textValues,
} from './shared.js';

const NAME = 'sentinel';
const SIGNATURE_HEADER = 'x-sentinel-signature';
/** Entity lists in `extra` are capped; `entity_counts` still counts every entity. */
const MAX_LISTED_ENTITIES = 25;
/** Bounds on the entity walk: untrusted nesting cannot make it deep or long. */
const MAX_ENTITY_NODES = 5000;
const MAX_ENTITY_DEPTH = 8;
const MAX_EXTENDED_PROPERTIES = 25;

// ---------------------------------------------------------------------------------------------------------
// Case- and underscore-insensitive field access

const canon = (key: string): string => key.replaceAll('_', '').toLowerCase();
const KEYS = new WeakMap<object, Map<string, unknown>>();

function keyed(obj: Record<string, unknown>): Map<string, unknown> {
  let map = KEYS.get(obj);
  if (map === undefined) {
    map = new Map();
    for (const [key, value] of Object.entries(obj)) {
      const c = canon(key);
      if (!map.has(c)) map.set(c, value);
    }
    KEYS.set(obj, map);
  }
  return map;
}

/** The first of `names` present (not null) on `obj`, matching keys case- and underscore-insensitively. */
function field(obj: unknown, ...names: string[]): unknown {
  if (!isRecord(obj)) return undefined;
  const map = keyed(obj);
  for (const name of names) {
    const value = map.get(canon(name));
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

const fieldText = (obj: unknown, ...names: string[]): string | undefined => {
  for (const name of names) {
    const value = text(field(obj, name));
    if (value !== undefined) return value;
  }
  return undefined;
};

const record = (value: unknown): Record<string, unknown> => (isRecord(value) ? value : {});

/** An array, or a JSON string holding one (SecurityAlert's `Entities`), else empty. */
function arrayOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' && value.trimStart().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      return Array.isArray(parsed) ? parsed : [];
    } catch {
      return [];
    }
  }
  return [];
}

/** An object, or a JSON string holding one (SecurityAlert's `ExtendedProperties`), else empty. */
function objectOf(value: unknown): Record<string, unknown> {
  if (isRecord(value)) return value;
  if (typeof value === 'string' && value.trimStart().startsWith('{')) {
    try {
      return record(JSON.parse(value));
    } catch {
      return {};
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------------------
// Shapes

type Shape = 'incident' | 'alert' | 'graph';

interface View {
  shape: Shape;
  /** The object that holds the incident or alert fields (`properties`, or the body itself). */
  root: Record<string, unknown>;
  /** The resource around `root` (`id`, `name`), and the whole body (`workspaceInfo`). */
  resource: Record<string, unknown>;
  body: Record<string, unknown>;
  entities: Entities;
}

function view(raw: Record<string, unknown>): View {
  const object = field(raw, 'object');
  let resource = raw;
  if (isRecord(object) && isRecord(field(object, 'properties'))) {
    resource = object; // Logic App incident trigger: the ARM incident sits in `object`
  }
  const props = field(resource, 'properties');
  const root = isRecord(props) ? props : resource;
  const odata = text(field(raw, '@odata.type'))?.toLowerCase() ?? '';
  const evidence = field(root, 'evidence');
  const isGraph = Array.isArray(evidence) || odata.endsWith('security.alert');
  const isIncident =
    root !== raw ||
    field(root, 'relatedAnalyticRuleIds', 'incidentUrl', 'relatedEntities') !== undefined ||
    (field(root, 'title') !== undefined && field(root, 'alertDisplayName', 'displayName', 'alertName') === undefined);
  const shape: Shape = isGraph ? 'graph' : isIncident ? 'incident' : 'alert';
  const entities = isGraph
    ? graphEntities(arrayOf(evidence))
    : walkEntities([
        ['relatedEntities', field(root, 'relatedEntities')],
        ['Entities', field(raw, 'Entities')],
        ['Entities', field(resource, 'Entities')],
        ['Entities', field(root, 'Entities')],
      ]);
  return { shape, root, resource, body: raw, entities };
}

// ---------------------------------------------------------------------------------------------------------
// Entities

interface Entity {
  /** `kind`/`Type`, lowercased, without `-`/`_` (`hostlogonsession`, `filehash`). */
  kind: string;
  /** The entity's properties (ARM `properties`, or the SecurityAlert entity itself). */
  data: Record<string, unknown>;
  /** Where it came from, for `source_field`: `Entities`, `relatedEntities` or `evidence`. */
  via: string;
}

interface Entities {
  list: Entity[];
  /** Resolves a `{"$ref": "n"}` to the entity object with `"$id": "n"` (anything else is returned as is). */
  resolve: (value: unknown) => unknown;
}

const ARM_ENTITY_TYPE = 'microsoft.securityinsights/entities';

function entityKind(obj: Record<string, unknown>): string | undefined {
  const kind = fieldText(obj, 'kind', 'type')?.toLowerCase();
  if (kind === undefined || kind.includes('/') || kind === ARM_ENTITY_TYPE) return undefined;
  return kind.replaceAll('-', '').replaceAll('_', '');
}

/**
 * Every entity of the lists, each once: `{"$ref"}` items are resolved to their `$id` object, and
 * entities nested inside others (a process's `ImageFile` and its `FileHashes`) are found too. The walk
 * visits each object once and is bounded in depth and size.
 */
function walkEntities(sources: ReadonlyArray<readonly [string, unknown]>): Entities {
  const ids = new Map<string, Record<string, unknown>>();
  const lists: Array<[string, unknown[]]> = [];
  const seenLists = new Set<unknown>();
  for (const [via, value] of sources) {
    if (value === undefined || seenLists.has(value)) continue;
    seenLists.add(value);
    lists.push([via, arrayOf(value)]);
  }
  // Index every `$id` first: a `$ref` may point forwards.
  let budget = MAX_ENTITY_NODES;
  const index = (value: unknown, depth: number): void => {
    if (budget-- <= 0 || depth > MAX_ENTITY_DEPTH) return;
    if (Array.isArray(value)) {
      for (const item of value) index(item, depth + 1);
    } else if (isRecord(value)) {
      const id = text(value.$id);
      if (id !== undefined && !ids.has(id)) ids.set(id, value);
      for (const child of Object.values(value)) {
        if (typeof child === 'object' && child !== null) index(child, depth + 1);
      }
    }
  };
  for (const [, list] of lists) index(list, 0);

  const resolve = (value: unknown): unknown => {
    if (isRecord(value) && typeof value.$ref === 'string') return ids.get(value.$ref) ?? value;
    return value;
  };
  const list: Entity[] = [];
  const visited = new Set<object>();
  budget = MAX_ENTITY_NODES;
  const visit = (value: unknown, via: string, depth: number, top: boolean): void => {
    const node = resolve(value);
    if (budget-- <= 0 || depth > MAX_ENTITY_DEPTH || typeof node !== 'object' || node === null || visited.has(node)) {
      return;
    }
    visited.add(node);
    if (Array.isArray(node)) {
      for (const item of node) visit(item, via, depth + 1, false);
      return;
    }
    const obj = node as Record<string, unknown>;
    const kind = entityKind(obj);
    // Top-level items are entities by position; nested objects only when they name a kind (`Type`).
    if (kind === undefined && !top) return;
    if (kind !== undefined) {
      const props = field(obj, 'properties');
      const data = isRecord(props) && text(field(obj, 'kind')) !== undefined ? props : obj;
      list.push({ kind, data, via });
      for (const child of Object.values(data)) {
        if (typeof child === 'object' && child !== null) visit(child, via, depth + 1, false);
      }
    }
  };
  for (const [via, items] of lists) {
    for (const item of items) visit(item, via, 0, true);
  }
  return { list, resolve };
}

/** Graph evidence, translated to the Sentinel entity kinds and property names it corresponds to. */
function graphEntities(evidence: readonly unknown[]): Entities {
  const list: Entity[] = [];
  const add = (kind: string, data: Record<string, unknown>) => list.push({ kind, data, via: 'evidence' });
  const account = (user: unknown) => {
    if (isRecord(user)) {
      add('account', {
        accountName: field(user, 'accountName'),
        ntDomain: field(user, 'domainName'),
        upn: field(user, 'userPrincipalName'),
        aadUserId: field(user, 'azureAdUserId'),
        sid: field(user, 'userSid'),
        displayName: field(user, 'displayName'),
      });
    }
  };
  const file = (details: unknown): Record<string, unknown> | undefined => {
    if (!isRecord(details)) return undefined;
    const data = { name: field(details, 'fileName'), directory: field(details, 'filePath') };
    add('file', data);
    for (const algorithm of ['SHA256', 'SHA1', 'MD5']) {
      const value = field(details, algorithm);
      if (value !== undefined) add('filehash', { algorithm, value });
    }
    return data;
  };
  for (const item of evidence.slice(0, MAX_ENTITY_NODES)) {
    if (!isRecord(item)) continue;
    const type = (text(field(item, '@odata.type')) ?? '').split('.').pop()?.toLowerCase() ?? '';
    const kind = type.replace(/evidence$/, '');
    switch (kind) {
      case 'ip':
        add('ip', { address: field(item, 'ipAddress'), location: { countryCode: field(item, 'countryLetterCode') } });
        break;
      case 'user':
        account(field(item, 'userAccount'));
        break;
      case 'device':
        add('host', {
          hostName: field(item, 'deviceDnsName', 'hostName'),
          osFamily: field(item, 'osPlatform'),
          osVersion: field(item, 'osBuild'),
        });
        for (const ip of textValues(field(item, 'ipInterfaces'))) add('ip', { address: ip });
        break;
      case 'file':
        file(field(item, 'fileDetails'));
        break;
      case 'process': {
        const image = file(field(item, 'imageFile'));
        file(field(item, 'parentProcessImageFile'));
        add('process', {
          commandLine: field(item, 'processCommandLine'),
          processId: field(item, 'processId'),
          parentProcessId: field(item, 'parentProcessId'),
          imageFile: image,
        });
        account(field(item, 'userAccount'));
        break;
      }
      case 'url':
        add('url', { url: field(item, 'url') });
        break;
      case 'mailbox':
        add('mailbox', {
          mailboxPrimaryAddress: field(item, 'primaryAddress'),
          upn: field(record(field(item, 'userAccount')), 'userPrincipalName'),
          displayName: field(item, 'displayName'),
        });
        break;
      case 'analyzedmessage':
        add('mailmessage', {
          sender: field(record(field(item, 'p1Sender')), 'emailAddress'),
          p2Sender: field(record(field(item, 'p2Sender')), 'emailAddress'),
          recipient: field(item, 'recipientEmailAddress'),
          senderIP: field(item, 'senderIp'),
          subject: field(item, 'subject'),
          urls: field(item, 'urls'),
        });
        break;
      case 'dns':
        add('dns', { domainName: field(item, 'domainName') });
        break;
      case 'filehash':
        add('filehash', { algorithm: field(item, 'algorithm'), value: field(item, 'value') });
        break;
      default:
        if (kind !== '') add(kind, item);
    }
  }
  return { list, resolve: (value) => value };
}

// ---------------------------------------------------------------------------------------------------------
// Reading entities

/**
 * The account as its owner would write it: the UPN (`accountName` that already is one is never given the
 * suffix twice), else `DOMAIN\name`, else the name.
 */
function accountName(e: Entity): string | undefined {
  const name = fieldText(e.data, 'accountName', 'name');
  const suffix = fieldText(e.data, 'upnSuffix');
  if (name?.includes('@')) return name;
  if (name !== undefined && suffix !== undefined) return `${name}@${suffix}`;
  const upn =
    fieldText(e.data, 'upn', 'userPrincipalName') ?? fieldText(field(e.data, 'additionalData'), 'UserPrincipalName');
  if (upn !== undefined) return upn;
  const domain = fieldText(e.data, 'ntDomain');
  return name !== undefined && domain !== undefined ? `${domain}\\${name}` : name;
}

/** The host's fully qualified name when it has one (`hostName` + `dnsDomain`, or an `FQDN` with a dot). */
function hostFqdn(e: Entity): string | undefined {
  const host = fieldText(e.data, 'hostName');
  const dns = fieldText(e.data, 'dnsDomain');
  if (host !== undefined && dns !== undefined) {
    return host.toLowerCase().endsWith(`.${dns.toLowerCase()}`) ? host : `${host}.${dns}`;
  }
  return [fieldText(e.data, 'fqdn'), host].find((name) => name?.includes('.'));
}

/** The host as an analyst names it: its FQDN, else its bare name. */
const hostLabel = (e: Entity): string | undefined =>
  hostFqdn(e) ?? fieldText(e.data, 'hostName', 'netBiosName', 'fqdn');

const HASH_TYPES: Readonly<Record<string, IndicatorType>> = {
  sha256: 'hash_sha256',
  sha1: 'hash_sha1',
  md5: 'hash_md5',
};

/** `SHA256`, `sha256`, `SHA-256`, `Sha1`… → the indicator type; other algorithms are not indicators here. */
function hashType(e: Entity): IndicatorType | undefined {
  const algorithm = fieldText(e.data, 'algorithm')?.toLowerCase().replaceAll('-', '');
  // Own keys only: an algorithm named `constructor` must not read Object.prototype (it crashed extraction).
  return algorithm !== undefined && Object.hasOwn(HASH_TYPES, algorithm) ? HASH_TYPES[algorithm] : undefined;
}

const hashValue = (e: Entity): string | undefined => fieldText(e.data, 'value', 'hashValue');

/** A file's full path: `directory` joined to `name` with the directory's own separator. */
function filePath(data: unknown): string | undefined {
  const name = fieldText(data, 'name', 'fileName');
  const directory = fieldText(data, 'directory', 'filePath');
  if (directory === undefined) return name;
  if (name === undefined) return directory;
  const separator = directory.includes('\\') || /^[a-z]:$/i.test(directory) ? '\\' : '/';
  return directory.endsWith(separator) ? `${directory}${name}` : `${directory}${separator}${name}`;
}

/** `(type, value)` pairs an entity stands for. */
function entityValues(e: Entity): Array<[IndicatorType, string | undefined]> {
  switch (e.kind) {
    case 'ip':
      return [['ip', fieldText(e.data, 'address')]];
    case 'account':
      return [['account', accountName(e)]];
    case 'host':
      return [['domain', hostFqdn(e)]];
    case 'url':
      return [['url', fieldText(e.data, 'url')]];
    case 'filehash': {
      const type = hashType(e);
      return type === undefined ? [] : [[type, hashValue(e)]];
    }
    case 'mailbox':
      return [['email', fieldText(e.data, 'mailboxPrimaryAddress', 'upn')]];
    case 'mailmessage':
      return [
        ['email', fieldText(e.data, 'sender', 'p1Sender')],
        ['email', fieldText(e.data, 'p2Sender')],
        ['email', fieldText(e.data, 'recipient')],
        ['ip', fieldText(e.data, 'senderIP')],
        ...textValues(field(e.data, 'urls')).map((url): [IndicatorType, string] => ['url', url]),
      ];
    case 'dns':
      return [['domain', fieldText(e.data, 'domainName')]];
    default:
      return [];
  }
}

/** The first entity of `kind` for which `read` yields a value. */
function firstOf(list: readonly Entity[], kind: string, read: (e: Entity) => string | undefined): string | undefined {
  for (const e of list) {
    if (e.kind === kind) {
      const value = read(e);
      if (value !== undefined) return value;
    }
  }
  return undefined;
}

/** The first hash of `type` that is a well-formed hash (placeholders such as `Sample-SHA` are skipped). */
function firstHash(list: readonly Entity[], type: IndicatorType): string | undefined {
  return firstOf(list, 'filehash', (e) => {
    const value = hashValue(e);
    return hashType(e) === type && checkIndicator(type, value).ok ? value : undefined;
  });
}

function extractIndicators(raw: unknown): ExtractedIndicator[] {
  if (!isRecord(raw)) return [];
  const found: Array<ExtractedIndicator | null> = [];
  for (const e of view(raw).entities.list) {
    for (const [type, value] of entityValues(e)) {
      found.push(indicator(type, value, `${e.via}.${e.kind}`));
    }
  }
  return collectIndicators(found);
}

// ---------------------------------------------------------------------------------------------------------
// extra

/** Compact per-type summary of the entities: counts by type, then hosts, accounts, IPs, processes, files. */
function entitySummary(entities: Entities, facts: Facts): void {
  const counts = new Map<string, number>();
  const lists: Record<string, Array<Record<string, unknown>>> = {
    hosts: [],
    accounts: [],
    ips: [],
    processes: [],
    files: [],
  };
  const push = (key: string, facts: Facts) => {
    const list = lists[key];
    const item = facts.toObject();
    if (list !== undefined && list.length < MAX_LISTED_ENTITIES && Object.keys(item).length > 0) list.push(item);
  };
  for (const e of entities.list) {
    counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
    const d = e.data;
    switch (e.kind) {
      case 'host':
        if (hostLabel(e) !== undefined) {
          push(
            'hosts',
            new Facts()
              .set('hostname', hostLabel(e))
              .set('nt_domain', field(d, 'ntDomain'))
              .set('os_family', field(d, 'osFamily'))
              .set('os_version', field(d, 'osVersion')),
          );
        }
        break;
      case 'account':
        if (accountName(e) !== undefined) {
          push(
            'accounts',
            new Facts()
              .set('name', accountName(e))
              .set('display_name', field(d, 'displayName'))
              .set('aad_user_id', field(d, 'aadUserId'))
              .set('sid', field(d, 'sid')),
          );
        }
        break;
      case 'ip': {
        const address = fieldText(d, 'address');
        if (address !== undefined) {
          const g = record(field(d, 'geoLocation', 'location'));
          push(
            'ips',
            new Facts()
              .set('address', address)
              .set('country', field(g, 'countryName', 'country', 'countryCode'))
              .set('state', field(g, 'state'))
              .set('city', field(g, 'city'))
              .set('asn', field(g, 'asn'))
              .set('organization', field(g, 'organization')),
          );
        }
        break;
      }
      case 'process': {
        const image = entities.resolve(field(d, 'imageFile'));
        const parent = record(entities.resolve(field(d, 'parentProcess')));
        push(
          'processes',
          new Facts()
            .set('command_line', field(d, 'commandLine'))
            .set('process_id', field(d, 'processId'))
            .set('executable', filePath(image))
            .set('parent_process_id', field(d, 'parentProcessId') ?? field(parent, 'processId'))
            .set('parent_command_line', field(parent, 'commandLine'))
            .set('parent_executable', filePath(entities.resolve(field(parent, 'imageFile'))))
            .set('elevation_token', field(d, 'elevationToken'))
            .set('created_time', field(d, 'creationTimeUtc')),
        );
        break;
      }
      case 'file':
        push('files', new Facts().set('path', filePath(d)).set('size', field(d, 'size', 'fileSize')));
        break;
      default:
        break;
    }
  }
  facts.put('entity_counts', Object.fromEntries(counts));
  for (const [key, list] of Object.entries(lists)) facts.put(key, list);
}

/** Tactics/techniques as a list: arrays as sent, SecurityAlert's comma-joined strings split. */
const listOf = (value: unknown): string[] =>
  Array.isArray(value) ? textValues(value) : textValues(value).flatMap((s) => s.split(',').map((t) => t.trim()));

/** The scalar facts of `ExtendedProperties` (object or JSON string), as the vendor named them, capped. */
function extendedProperties(root: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [key, value] of Object.entries(objectOf(field(root, 'extendedProperties')))) {
    const v = fact(value);
    if (v !== undefined && key !== '__proto__' && n++ < MAX_EXTENDED_PROPERTIES) out[key] = v;
  }
  return out;
}

function extra(v: View): Record<string, unknown> {
  const { root, resource, body } = v;
  const data = record(field(root, 'additionalData'));
  const owner = record(field(root, 'owner'));
  const workspace = record(field(body, 'workspaceInfo'));
  const first = parseTimestamp(field(root, 'firstActivityTimeUtc', 'firstActivityDateTime'));
  const last = parseTimestamp(field(root, 'lastActivityTimeUtc', 'lastActivityDateTime'));
  const alerts = arrayOf(field(root, 'alerts'));
  const facts = new Facts()
    .set('incident_id', v.shape === 'incident' ? field(resource, 'name') : field(root, 'incidentId'))
    .set('incident_number', field(root, 'incidentNumber'))
    .set('incident_url', field(root, 'incidentUrl', 'incidentWebUrl'))
    .set('alert_id', v.shape === 'graph' ? field(root, 'id') : undefined)
    .set('system_alert_id', field(root, 'systemAlertId'))
    .set('provider_alert_id', field(root, 'providerAlertId', 'vendorOriginalId'))
    .set('alert_url', field(root, 'alertLink', 'alertWebUrl'))
    .set('alert_type', field(root, 'alertType'))
    .set('status', field(root, 'status'))
    .set('classification', field(root, 'classification'))
    .set('classification_reason', field(root, 'classificationReason'))
    .set('determination', field(root, 'determination'))
    .set('owner', field(owner, 'assignedTo', 'userPrincipalName', 'email') ?? field(root, 'assignedTo'))
    .set('provider_name', field(root, 'providerName'))
    .set('provider_incident_id', field(root, 'providerIncidentId'))
    .set('product_name', field(root, 'productName'))
    .set('product_component_name', field(root, 'productComponentName'))
    .set('vendor_name', field(root, 'vendorName'))
    .set('service_source', field(root, 'serviceSource'))
    .set('detection_source', field(root, 'detectionSource'))
    .set('category', field(root, 'category'))
    .set('threat_name', field(root, 'threatDisplayName'))
    .set('threat_family', field(root, 'threatFamilyName'))
    .set('compromised_entity', field(root, 'compromisedEntity'))
    .set('confidence_level', field(root, 'confidenceLevel'))
    .set('created_time', field(root, 'createdTimeUtc', 'createdDateTime', 'timeGenerated', 'processingEndTime'))
    .set('first_activity_time', field(root, 'firstActivityTimeUtc', 'firstActivityDateTime'))
    .set('last_activity_time', field(root, 'lastActivityTimeUtc', 'lastActivityDateTime'))
    .set('activity_duration_seconds', secondsBetween(first, last))
    .set('start_time', field(root, 'startTimeUtc', 'startTime', 'alertStartTime'))
    .set('end_time', field(root, 'endTimeUtc', 'endTime', 'alertEndTime'))
    .set('alerts_count', field(data, 'alertsCount') ?? field(root, 'alertsCount') ?? (alerts.length || undefined))
    .set('bookmarks_count', field(data, 'bookmarksCount'))
    .set('comments_count', field(data, 'commentsCount'))
    .set('alert_product_names', field(data, 'alertProductNames'))
    .set('mitre_tactics', listOf(field(data, 'tactics') ?? field(root, 'tactics', 'incidentTactics', 'category')))
    .set(
      'mitre_techniques',
      listOf(field(data, 'techniques') ?? field(root, 'techniques', 'incidentTechniques', 'mitreTechniques')),
    )
    .set('workspace', field(workspace, 'workspaceName'))
    .set(
      'resource_group',
      field(workspace, 'resourceGroupName') ?? field(body, 'resourceGroupName', 'workspaceResourceGroup'),
    )
    .set(
      'subscription_id',
      field(workspace, 'subscriptionId') ?? field(body, 'subscriptionId', 'workspaceSubscriptionId'),
    );
  const extended = extendedProperties(root);
  if (Object.keys(extended).length > 0) facts.put('extended_properties', extended);
  entitySummary(v.entities, facts);
  return facts.toObject();
}

// ---------------------------------------------------------------------------------------------------------
// The source

const TITLE_FIELDS = ['title', 'alertDisplayName', 'displayName', 'alertName'];
const SEVERITY_FIELDS = ['severity', 'alertSeverity'];

function validate(raw: unknown): ValidationResult {
  if (!isRecord(raw)) {
    return result([notAnObject('A Sentinel incident or alert', raw)]);
  }
  const { root } = view(raw);
  if (fieldText(root, ...TITLE_FIELDS) === undefined && fieldText(root, ...SEVERITY_FIELDS) === undefined) {
    return result([
      {
        path: root === raw ? 'title' : 'properties.title',
        message:
          'Sentinel payloads need a title or a severity: properties.title (incident), AlertDisplayName (alert), ' +
          'title (Graph alert) or alertDisplayName (custom playbook body)',
      },
    ]);
  }
  return result([]);
}

function normalize(raw: unknown): NormalizedAlertInput {
  const v = view(record(raw));
  const { root } = v;
  const list = v.entities.list;
  const severity = normalizeSeverity(field(root, ...SEVERITY_FIELDS));
  const tags = [
    ...arrayOf(field(root, 'labels')).flatMap((label) => textValues(field(label, 'labelName'))),
    ...(v.shape === 'graph' ? textValues(field(root, 'systemTags')) : []),
  ];
  const time = ['firstActivityTimeUtc', 'firstActivityDateTime', 'startTimeUtc', 'startTime', 'alertStartTime'];
  const fallbackTime = ['timeGenerated', 'alertTime', 'createdTimeUtc', 'createdDateTime'];
  return {
    title:
      fieldText(root, ...TITLE_FIELDS) ??
      (v.shape === 'incident' ? 'Untitled Sentinel Incident' : 'Untitled Sentinel Alert'),
    severity: severity.severity,
    ...severityFlags(severity),
    occurred_at:
      [...time, ...fallbackTime].map((name) => parseTimestamp(field(root, name))).find((t) => t !== null) ?? null,
    source_name: NAME,
    description: str(field(root, 'description', 'alertDescription', 'incidentDescription')) ?? null,
    // Entities carry no direction: the first IP entity is reported as src_ip and dst_ip stays empty.
    ...indicatorFields({
      src_ip: firstOf(list, 'ip', (e) => fieldText(e.data, 'address')),
      src_hostname: firstOf(list, 'host', hostLabel),
      actor_username: firstOf(list, 'account', accountName),
      actor_email: firstOf(list, 'mailbox', (e) => fieldText(e.data, 'mailboxPrimaryAddress', 'upn')),
      http_url: firstOf(list, 'url', (e) => fieldText(e.data, 'url')),
      dns_query: firstOf(list, 'dns', (e) => fieldText(e.data, 'domainName')),
      email_from: firstOf(list, 'mailmessage', (e) => fieldText(e.data, 'sender', 'p1Sender')),
      file_hash_sha256: firstHash(list, 'hash_sha256'),
      file_hash_sha1: firstHash(list, 'hash_sha1'),
      file_hash_md5: firstHash(list, 'hash_md5'),
    }),
    tags: [...new Set(tags)],
    extra: extra(v),
  };
}

/** The last non-empty segment of an ARM id (`…/alertRules/<id>/`). Linear: no regex over the id. */
function lastSegment(id: string | undefined): string | undefined {
  const segments = id?.split('/') ?? [];
  for (let i = segments.length - 1; i >= 0; i--) {
    if (segments[i] !== '') return segments[i];
  }
  return undefined;
}

/** SecurityAlert `AlertType` of a scheduled rule is `<workspace id>_<rule id>`: the rule id is the second GUID. */
const GUID_PAIR = /^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}_([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})$/i;

function detectionRule(raw: unknown): DetectionRuleRef | null {
  if (!isRecord(raw)) return null;
  const { root, shape } = view(raw);
  const data = record(field(root, 'additionalData'));
  const ruleIds = arrayOf(field(root, 'relatedAnalyticRuleIds'));
  const alertType = fieldText(root, 'alertType');
  const ruleId =
    lastSegment(text(ruleIds[0])) ??
    (alertType === undefined ? undefined : (GUID_PAIR.exec(alertType)?.[1] ?? alertType)) ??
    (shape === 'graph' ? fieldText(root, 'detectorId') : undefined);
  return detectionRuleRef({
    source_rule_id: ruleId,
    // An incident names its rule only through its title; an alert may carry "Analytic Rule Name".
    name: fieldText(data, 'Analytic Rule Name') ?? fieldText(root, ...TITLE_FIELDS),
    severity: fieldText(root, ...SEVERITY_FIELDS),
    mitre_tactics: listOf(field(data, 'tactics') ?? field(root, 'tactics', 'incidentTactics')),
    mitre_techniques: listOf(
      field(data, 'techniques') ?? field(root, 'techniques', 'incidentTechniques', 'mitreTechniques'),
    ),
  });
}

const entityExtraction = (kind: string, type: IndicatorType, description: string) =>
  ['Entities', 'relatedEntities', 'evidence'].map((via) => ({
    field_path: `${via}.${kind}`,
    indicator_type: type,
    description,
  }));

export const sentinelSource = defineAlertSource({
  name: NAME,
  displayName: 'Microsoft Sentinel',
  validate,
  normalize,
  extractIndicators,
  detectionRule,
  verifySignature: hmacSignature(SIGNATURE_HEADER),
  documentedExtractions: [
    ...entityExtraction('ip', 'ip', 'IP entities (Graph ipEvidence, deviceEvidence ipInterfaces): address'),
    ...entityExtraction(
      'account',
      'account',
      'Account entities (Graph userEvidence): the UPN (name@upnSuffix, never suffixed twice), else DOMAIN\\name, else name',
    ),
    ...entityExtraction(
      'host',
      'domain',
      'Host entities (Graph deviceEvidence): hostName.dnsDomain or an FQDN; a bare host name is not a domain',
    ),
    ...entityExtraction('url', 'url', 'URL entities (Graph urlEvidence): url'),
    ...entityExtraction(
      'filehash',
      'hash_sha256',
      'File hash entities with algorithm SHA256 (any case); file and process image hashes',
    ),
    ...entityExtraction(
      'filehash',
      'hash_sha1',
      'File hash entities with algorithm SHA1 (any case); file and process image hashes',
    ),
    ...entityExtraction(
      'filehash',
      'hash_md5',
      'File hash entities with algorithm MD5 (any case); file and process image hashes',
    ),
    ...entityExtraction(
      'mailbox',
      'email',
      'Mailbox entities (Graph mailboxEvidence): mailboxPrimaryAddress, else upn',
    ),
    ...entityExtraction(
      'mailmessage',
      'email',
      'Mail message entities (Graph analyzedMessageEvidence): senders and recipient',
    ),
    ...entityExtraction('mailmessage', 'ip', 'Mail message entities: senderIP'),
    ...entityExtraction('mailmessage', 'url', 'Mail message entities: urls'),
    ...entityExtraction('dns', 'domain', 'DNS entities (Graph dnsEvidence): domainName'),
  ],
});
