// STIX 2.1 checks run in the browser before evidence is encrypted: the server never sees the
// evidence, so it cannot validate it. This is the structural subset of hotline-stix (the
// Rust crate `hotline stix validate` uses): the bundle, every object's type, id, spec_version,
// timestamps, the properties each common type requires, TLP marking references, and that every
// reference points at an id of the right form. Each problem names the object and the property.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TYPE = /^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$/;
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const SDO_SRO = ["attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator",
  "infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data", "opinion",
  "report", "threat-actor", "tool", "vulnerability", "relationship", "sighting"];
const REQUIRED = {
  "attack-pattern": ["name"], campaign: ["name"], "course-of-action": ["name"], grouping: ["context", "object_refs"],
  identity: ["name"], indicator: ["pattern", "pattern_type", "valid_from"], infrastructure: ["name"],
  "intrusion-set": ["name"], malware: ["is_family"], note: ["content", "object_refs"],
  "observed-data": ["first_observed", "last_observed", "number_observed"], opinion: ["opinion", "object_refs"],
  report: ["name", "published", "object_refs"], "threat-actor": ["name"], tool: ["name"], vulnerability: ["name"],
  relationship: ["relationship_type", "source_ref", "target_ref"], sighting: ["sighting_of_ref"],
  "marking-definition": ["created"],
};

function isId(v) {
  if (typeof v !== "string") return false;
  const i = v.indexOf("--");
  return i > 0 && TYPE.test(v.slice(0, i)) && UUID.test(v.slice(i + 2));
}

/** Returns every problem found (empty: the bundle passed these checks). */
export function stixProblems(bundle) {
  const p = [];
  if (bundle === null || typeof bundle !== "object" || Array.isArray(bundle)) return ["the evidence must be a JSON object (a STIX bundle)"];
  if (bundle.type !== "bundle") p.push('bundle: "type" must be "bundle" (STIX 2.1 §8)');
  if (!isId(bundle.id) || !String(bundle.id).startsWith("bundle--")) p.push('bundle: "id" must be bundle--<UUID>');
  if (!Array.isArray(bundle.objects)) { p.push('bundle: "objects" must be an array'); return p; }
  bundle.objects.forEach((o, n) => {
    const where = `objects[${n}]`;
    if (o === null || typeof o !== "object" || Array.isArray(o)) { p.push(`${where}: must be an object`); return; }
    if (typeof o.type !== "string" || !TYPE.test(o.type)) { p.push(`${where}: "type" must be 3-250 characters of a-z, 0-9 and -`); return; }
    const name = typeof o.id === "string" ? o.id : where;
    if (!isId(o.id) || !o.id.startsWith(o.type + "--")) p.push(`${name}: "id" must be ${o.type}--<UUID>`);
    const sdo = SDO_SRO.includes(o.type) || o.type === "marking-definition";
    if (sdo || o.spec_version !== undefined) {
      if (o.spec_version !== "2.1") p.push(`${name}: "spec_version" must be "2.1"`);
    }
    if (SDO_SRO.includes(o.type)) {
      for (const k of ["created", "modified"]) if (!STAMP.test(o[k] || "")) p.push(`${name}: "${k}" must be a UTC timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)`);
    }
    for (const k of REQUIRED[o.type] || []) if (o[k] === undefined) p.push(`${name}: a ${o.type} needs "${k}"`);
    for (const [k, v] of Object.entries(o)) {
      if (k.endsWith("_ref") && !isId(v)) p.push(`${name}: "${k}" must be an identifier (type--UUID)`);
      if (k.endsWith("_refs") && (!Array.isArray(v) || !v.every(isId))) p.push(`${name}: "${k}" must be a list of identifiers`);
    }
    if (o.type === "indicator" && typeof o.pattern === "string" && o.pattern.trim() === "") p.push(`${name}: "pattern" is empty`);
    if (o.type === "malware" && o.is_family !== undefined && typeof o.is_family !== "boolean") p.push(`${name}: "is_family" must be true or false`);
  });
  return p;
}
