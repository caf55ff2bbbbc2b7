// The -statements mode of hotline-check: every entry of the audited log is read as a hotline
// statement (docs/statements.md, hotline/statement/v1) and its signatures are checked with
// golang.org/x/mod/sumdb/note's Open against the key its author held at that point of the log.
//
// The checker trusts nothing but the log key: the party directory is rebuilt from the log's own
// party-registered, key-rotated and party-revoked statements, in log order, starting with the
// operator's self-signed registration in entry 0. So:
//
//   - a party-registered statement must verify with the operator's current key and with the
//     registered party-key (the party's countersignature: proof of possession);
//   - a key-rotated statement with the operator's current key and the new key (the old key may
//     sign too); from then on only the new key counts;
//   - a party-revoked statement with the operator's current key (the party's key may sign too);
//     from then on the party can neither author nor receive statements;
//   - any other statement with its author's current key; operator statements (delivered,
//     overdue) with the operator's.
//
// Every signature line must be by one of the keys named above: a signature note.Open cannot
// attribute (an unknown or a replaced key) fails the check, and so does one it rejects.
//
// The header is parsed as docs/statements.md specifies it — format line, the keys in their
// fixed order, only ref and party-recipient repeated, the lines each kind uses and no other,
// the vocabularies and value formats — and the case-level facts the log alone determines are
// checked too: a case is opened once, by a notice or request, and later statements are made by
// the right side of it, refer (by RFC 6962 leaf hash) to earlier statements of the same case,
// and a delivered statement refers to exactly one payload-carrying statement addressed to the
// party that downloaded it, delivered once. The lifecycle's finer rules (which kind may follow
// which, deadlines against the policy) are hotline's own and not re-checked here.
//
// With -statement-file, a statement file is then checked as if it were entry -statement-at of
// the log (default: appended after the last entry), against the directory and cases the
// entries before it built: this is how a tampered or replayed statement is shown to fail.
package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const formatLine = "hotline/statement/v1"

// keyOrder is the fixed order of header keys. docs/statements.md's table lists contact with
// the other public-record keys before party-key; its examples (real statements, replayed by
// hotline's tests) put it after party-recipient, and so does this list.
var keyOrder = []string{
	"origin", "kind", "case", "author", "recipient", "time", "priority", "request-type",
	"justification", "handling", "tlp", "ack-by", "answer-by", "reason", "deadline", "ref",
	"party", "party-name", "jurisdiction", "party-kind", "party-key", "party-recipient",
	"contact", "collection", "objects-sha256", "objects-size", "objects-count",
	"payload-sha256", "payload-size", "plaintext-sha256",
}

var keyRank = func() map[string]int {
	m := map[string]int{}
	for i, k := range keyOrder {
		m[k] = i
	}
	return m
}()

func set(words ...string) map[string]bool {
	m := map[string]bool{}
	for _, w := range words {
		m[w] = true
	}
	return m
}

var (
	caseKinds = set("notice", "request", "delivered", "acknowledged", "update", "need-info",
		"answer", "declined", "overdue", "closed", "withdrawn")
	directoryKinds  = set("party-registered", "key-rotated", "party-revoked")
	collections     = set("shared", "public", "own")
	followUpKinds   = set("acknowledged", "update", "need-info", "answer", "declined", "closed", "withdrawn")
	payloadRequired = set("notice", "request", "update", "need-info", "answer")
	payloadOptional = set("acknowledged", "declined", "closed", "withdrawn")

	priorities     = set("emergency", "urgent", "routine")
	requestTypes   = set("preservation", "subscriber-info", "traffic-data", "takedown", "investigation", "emergency", "mla-follow-up")
	justifications = set("imminent-risk-to-life", "imminent-risk-to-safety")
	handlings      = set("H0", "H1", "H2", "H3")
	tlps           = set("clear", "green", "amber", "amber+strict", "red")
	declineReasons = set("not-competent", "insufficient-information", "legal-obstacle", "no-dual-criminality", "resources", "duplicate", "other")
	revokeReasons  = set("compromised", "retired", "other")
	deadlines      = set("ack", "answer")
	partyKinds     = set("national-cert", "law-enforcement-24-7", "isac", "company", "operator", "other")

	partyIDRe      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	caseIDRe       = regexp.MustCompile(`^[0-9]{8}-[0-9a-f]{12}$`)
	timeRe         = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$`)
	jurisdictionRe = regexp.MustCompile(`^[A-Z]{2}$`)
)

const operatorID = "operator"

// rule says whether a key is required, optional or refused in a statement of a kind, as the
// "used by" column of docs/statements.md has it.
func rule(kind, key string, hasPayload, emergency bool) (allowed, required bool) {
	yes := func(b bool) (bool, bool) { return b, b }
	switch key {
	case "origin", "kind", "author", "time":
		return true, true
	case "case", "recipient":
		return yes(caseKinds[kind])
	case "priority":
		return yes(kind == "notice" || kind == "request")
	case "request-type", "ack-by", "answer-by":
		return yes(kind == "request")
	case "justification":
		return yes(kind == "request" && emergency)
	case "tlp":
		return yes(kind == "notice" || kind == "request" || kind == "shared" || hasPayload)
	case "handling":
		return yes(kind == "notice" || kind == "request" || hasPayload)
	case "collection", "objects-sha256", "objects-size", "objects-count":
		return yes(kind == "shared")
	case "reason":
		return yes(kind == "declined" || kind == "party-revoked")
	case "deadline":
		return yes(kind == "overdue")
	case "ref":
		return yes(followUpKinds[kind] || kind == "delivered" || kind == "overdue")
	case "party":
		// A shared statement by the operator names the publishing party (checked below).
		if kind == "shared" {
			return true, false
		}
		return yes(directoryKinds[kind])
	case "party-name", "jurisdiction", "party-kind", "contact":
		return yes(kind == "party-registered")
	case "party-key", "party-recipient":
		return yes(kind == "party-registered" || kind == "key-rotated")
	case "payload-sha256", "payload-size", "plaintext-sha256":
		if payloadRequired[kind] {
			return true, true
		}
		return payloadOptional[kind], false
	}
	return false, false
}

// header is a parsed statement text.
type header struct {
	values map[string][]string
}

func (h header) get(k string) string {
	if v := h.values[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h header) has(k string) bool { return len(h.values[k]) > 0 }

// parseHeader parses and checks a statement text (the note text, signatures excluded).
func parseHeader(text string) (header, error) {
	h := header{values: map[string][]string{}}
	if !strings.HasSuffix(text, "\n") {
		return h, errors.New("the text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if lines[0] != formatLine {
		return h, fmt.Errorf("line 1 is %q, not %q", clip(lines[0]), formatLine)
	}
	last, lastKey := -1, ""
	for i, l := range lines[1:] {
		n := i + 2
		k, v, ok := strings.Cut(l, " ")
		if !ok || k == "" || v == "" {
			return h, fmt.Errorf("line %d %q is not `key value`", n, clip(l))
		}
		r, known := keyRank[k]
		if !known {
			return h, fmt.Errorf("line %d: unknown key %q", n, clip(k))
		}
		if strings.TrimSpace(v) != v {
			return h, fmt.Errorf("line %d: the value of %s has leading or trailing spaces", n, k)
		}
		for _, c := range v {
			if unicode.IsControl(c) {
				return h, fmt.Errorf("line %d: the value of %s holds a control character", n, k)
			}
		}
		repeatable := k == "ref" || k == "party-recipient"
		if r < last || (r == last && !(repeatable && k == lastKey)) {
			return h, fmt.Errorf("line %d: %s is out of order or repeated", n, k)
		}
		last, lastKey = r, k
		h.values[k] = append(h.values[k], v)
	}
	kind := h.get("kind")
	if !caseKinds[kind] && !directoryKinds[kind] && kind != "shared" {
		return h, fmt.Errorf("unknown kind %q", clip(kind))
	}
	hasPayload := h.has("payload-sha256") || h.has("payload-size") || h.has("plaintext-sha256")
	emergency := h.get("request-type") == "emergency"
	for _, k := range keyOrder {
		allowed, required := rule(kind, k, hasPayload, emergency)
		switch {
		case h.has(k) && !allowed:
			return h, fmt.Errorf("a %s statement does not use %s", kind, k)
		case !h.has(k) && required:
			return h, fmt.Errorf("a %s statement needs %s", kind, k)
		}
	}
	if kind == "shared" {
		byOperator := h.get("author") == operatorID
		if byOperator != h.has("party") {
			return h, errors.New("a shared statement has a party line exactly when the operator is its author")
		}
		if t := h.get("tlp"); t != "clear" && t != "green" {
			return h, fmt.Errorf("a shared statement publishes TLP:CLEAR or TLP:GREEN only, not %q", clip(t))
		}
		if h.get("collection") == "public" && h.get("tlp") != "clear" {
			return h, errors.New("the public collection takes TLP:CLEAR only")
		}
		if !collections[h.get("collection")] {
			return h, fmt.Errorf("collection %q is not shared, public or own", clip(h.get("collection")))
		}
		if _, err := decodeHash(h.get("objects-sha256")); err != nil {
			return h, fmt.Errorf("objects-sha256: %v", err)
		}
		for _, k := range []string{"objects-size", "objects-count"} {
			n, err := strconv.ParseUint(h.get(k), 10, 64)
			if err != nil || n == 0 || strconv.FormatUint(n, 10) != h.get(k) {
				return h, fmt.Errorf("%s %q is not a positive canonical decimal", k, clip(h.get(k)))
			}
		}
	}
	if hasPayload && !(h.has("payload-sha256") && h.has("payload-size") && h.has("plaintext-sha256")) {
		return h, errors.New("payload-sha256, payload-size and plaintext-sha256 come together")
	}
	return h, checkValues(h)
}

// checkValues checks every value's format and vocabulary.
func checkValues(h header) error {
	vocab := func(k string, words map[string]bool) error {
		if v := h.get(k); h.has(k) && !words[v] {
			return fmt.Errorf("%s %q is not one of %s", k, clip(v), strings.Join(sortedKeys(words), ", "))
		}
		return nil
	}
	var reasons map[string]bool
	if h.get("kind") == "declined" {
		reasons = declineReasons
	} else {
		reasons = revokeReasons
	}
	for _, err := range []error{
		vocab("priority", priorities), vocab("request-type", requestTypes),
		vocab("justification", justifications), vocab("handling", handlings), vocab("tlp", tlps),
		vocab("reason", reasons), vocab("deadline", deadlines), vocab("party-kind", partyKinds),
	} {
		if err != nil {
			return err
		}
	}
	for _, k := range []string{"author", "recipient", "party"} {
		if v := h.get(k); h.has(k) && !partyIDRe.MatchString(v) {
			return fmt.Errorf("%s %q is not a party id (1-63 of a-z 0-9 -, not starting with -)", k, clip(v))
		}
	}
	if v := h.get("case"); h.has("case") && !caseIDRe.MatchString(v) {
		return fmt.Errorf("case %q is not YYYYMMDD- and 12 lowercase hex digits", clip(v))
	}
	for _, k := range []string{"time", "ack-by", "answer-by"} {
		if v := h.get(k); h.has(k) {
			if _, err := parseTime(v); err != nil {
				return fmt.Errorf("%s: %v", k, err)
			}
		}
	}
	for _, k := range []string{"ref", "payload-sha256", "plaintext-sha256"} {
		for _, v := range h.values[k] {
			if _, err := decodeHash(v); err != nil {
				return fmt.Errorf("%s: %v", k, err)
			}
		}
	}
	if v := h.get("payload-size"); h.has("payload-size") {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 || strconv.FormatUint(n, 10) != v {
			return fmt.Errorf("payload-size %q is not a positive canonical decimal", clip(v))
		}
	}
	if v := h.get("jurisdiction"); h.has("jurisdiction") && !jurisdictionRe.MatchString(v) {
		return fmt.Errorf("jurisdiction %q is not an ISO 3166-1 alpha-2 code", clip(v))
	}
	for _, v := range h.values["party-recipient"] {
		if err := checkAgeRecipient(v); err != nil {
			return fmt.Errorf("party-recipient %q: %v", clip(v), err)
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func parseTime(v string) (time.Time, error) {
	if !timeRe.MatchString(v) {
		return time.Time{}, fmt.Errorf("%q is not RFC 3339 UTC in whole seconds (2021-07-03T10:00:00Z)", clip(v))
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a valid time: %v", clip(v), err)
	}
	return t, nil
}

func decodeHash(v string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != tlog.HashSize || base64.StdEncoding.EncodeToString(b) != v {
		return h, fmt.Errorf("%q is not the base64 of a 32-byte hash", clip(v))
	}
	copy(h[:], b)
	return h, nil
}

// checkAgeRecipient checks an age X25519 recipient: lowercase Bech32 (BIP 173) with the human
// readable part "age" and a 32-byte key.
func checkAgeRecipient(s string) error {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	if !strings.HasPrefix(s, "age1") {
		return errors.New("not an age recipient (age1…)")
	}
	data := s[len("age1"):]
	if len(data) != 52+6 {
		return fmt.Errorf("%d characters after age1, want 58 (a 32-byte key and a checksum)", len(data))
	}
	values := make([]byte, len(data))
	for i, c := range []byte(data) {
		j := strings.IndexByte(charset, c)
		if j < 0 {
			return fmt.Errorf("%q is not a lowercase Bech32 character", c)
		}
		values[i] = byte(j)
	}
	// BIP 173 checksum over the expanded human-readable part and the data.
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	mix := func(v byte) {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if (top>>uint(i))&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	for _, c := range []byte("age") {
		mix(c >> 5)
	}
	mix(0)
	for _, c := range []byte("age") {
		mix(c & 31)
	}
	for _, v := range values {
		mix(v)
	}
	if chk != 1 {
		return errors.New("bad Bech32 checksum")
	}
	// 52 five-bit groups carry 256 bits and 4 padding bits, which must be zero.
	if values[51]&0x0f != 0 {
		return errors.New("non-zero padding bits")
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// party is a directory entry as the log built it.
type party struct {
	id         string
	key        note.Verifier
	vkey       string
	registered int64
	rotatedAt  []int64         // entries of its key rotations
	oldKeys    []note.Verifier // keys it held before, oldest first
	revoked    int64           // entry of its revocation, or -1
}

// caseState is what the checker knows about a case.
type caseState struct {
	kind       string
	requester  string
	responder  string
	opened     int64
	statements int
}

// seen is an earlier statement, found by its id (leaf hash).
type seen struct {
	index      int64
	kind       string
	caseID     string
	recipient  string
	hasPayload bool
	delivered  int64 // entry of its delivered statement, or -1
}

// statementChecker replays statements in log order.
type statementChecker struct {
	origin  string
	parties map[string]*party
	cases   map[string]*caseState
	byID    map[tlog.Hash]*seen
	kinds   map[string]int
	sigs    int
	n       int64
}

func newStatementChecker(origin string) *statementChecker {
	return &statementChecker{
		origin:  origin,
		parties: map[string]*party{},
		cases:   map[string]*caseState{},
		byID:    map[tlog.Hash]*seen{},
		kinds:   map[string]int{},
	}
}

// current is a party that is registered and not revoked.
func (c *statementChecker) current(id, role string) (*party, error) {
	p := c.parties[id]
	switch {
	case p == nil:
		return nil, fmt.Errorf("the %s %q is not registered at this point of the log", role, id)
	case p.revoked >= 0:
		return nil, fmt.Errorf("the %s %q was revoked at entry %d", role, id, p.revoked)
	}
	return p, nil
}

// apply checks entry index and adds what it says to the checker's state.
func (c *statementChecker) apply(index int64, entry []byte) error {
	// note.Open with no keys parses the note and hands back its text inside the error.
	var text string
	_, err := note.Open(entry, note.VerifierList())
	var unv *note.UnverifiedNoteError
	if !errors.As(err, &unv) {
		if err == nil {
			err = errors.New("note.Open verified it with no keys")
		}
		return fmt.Errorf("not a signed note: %v", err)
	}
	text = unv.Note.Text
	h, err := parseHeader(text)
	if err != nil {
		return fmt.Errorf("not a %s statement: %v", formatLine, err)
	}
	kind, author := h.get("kind"), h.get("author")
	if o := h.get("origin"); o != c.origin {
		return fmt.Errorf("%s statement for origin %q, but this log is %q", kind, clip(o), c.origin)
	}

	// Which keys must sign, and which may.
	var required, optional []note.Verifier
	var newParty *party
	var newKey note.Verifier
	if index == 0 {
		if kind != "party-registered" || h.get("party") != operatorID || author != operatorID {
			return fmt.Errorf("entry 0 is a %s by %s, not the operator's registration of itself", kind, author)
		}
	} else {
		if _, err := c.current(author, "author"); err != nil {
			return fmt.Errorf("%s statement: %v", kind, err)
		}
	}
	if directoryKinds[kind] && author != operatorID {
		return fmt.Errorf("a %s statement by %s: directory statements are the operator's", kind, author)
	}
	if (kind == "delivered" || kind == "overdue") && author != operatorID {
		return fmt.Errorf("a %s statement by %s: only the operator records that", kind, author)
	}
	switch kind {
	case "party-registered", "key-rotated":
		vkey := h.get("party-key")
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return fmt.Errorf("%s: party-key %q is not a signed-note verifier key: %v", kind, clip(vkey), err)
		}
		if v.Name() != h.get("party") {
			return fmt.Errorf("%s: party-key is named %q, not after the party %q", kind, v.Name(), h.get("party"))
		}
		newKey = v
		if kind == "party-registered" {
			if p := c.parties[h.get("party")]; p != nil && p.revoked < 0 {
				return fmt.Errorf("party-registered: %q is already registered (entry %d)", p.id, p.registered)
			}
			newParty = &party{id: v.Name(), key: v, vkey: vkey, registered: index, revoked: -1}
			if index == 0 {
				required = []note.Verifier{v}
			} else {
				required = []note.Verifier{c.parties[operatorID].key, v}
			}
		} else {
			p, err := c.current(h.get("party"), "party")
			if err != nil {
				return fmt.Errorf("key-rotated: %v", err)
			}
			required = []note.Verifier{c.parties[operatorID].key, v}
			optional = []note.Verifier{p.key}
		}
	case "party-revoked":
		p, err := c.current(h.get("party"), "party")
		if err != nil {
			return fmt.Errorf("party-revoked: %v", err)
		}
		required = []note.Verifier{c.parties[operatorID].key}
		optional = []note.Verifier{p.key}
	case "shared":
		// By the party itself, or recorded by the operator for a party that can still publish.
		if author == operatorID {
			if _, err := c.current(h.get("party"), "party"); err != nil {
				return fmt.Errorf("shared: %v", err)
			}
			if h.get("party") == operatorID {
				return errors.New("shared: the operator publishes nothing of its own")
			}
		}
		required = []note.Verifier{c.parties[author].key}
	default:
		required = []note.Verifier{c.parties[author].key}
	}

	// The signatures, with x/mod's note.Open.
	n, err := openWith(entry, required, optional)
	if err != nil {
		return fmt.Errorf("%s statement by %s: %v", kind, author, c.explain(err, required))
	}
	c.sigs += len(n.Sigs)

	// What it means.
	id := tlog.RecordHash(entry)
	if prev := c.byID[id]; prev != nil {
		return fmt.Errorf("%s statement is a duplicate of entry %d", kind, prev.index)
	}
	s := &seen{index: index, kind: kind, caseID: h.get("case"), recipient: h.get("recipient"),
		hasPayload: h.has("payload-sha256"), delivered: -1}
	switch {
	case kind == "party-registered":
		c.parties[newParty.id] = newParty
	case kind == "key-rotated":
		p := c.parties[h.get("party")]
		p.oldKeys = append(p.oldKeys, p.key)
		p.rotatedAt = append(p.rotatedAt, index)
		p.key, p.vkey = newKey, h.get("party-key")
	case kind == "party-revoked":
		c.parties[h.get("party")].revoked = index
	case kind == "shared":
		// A publication belongs to no case.
	default:
		if err := c.applyCase(index, h, s); err != nil {
			return fmt.Errorf("%s statement by %s in case %s: %v", kind, author, h.get("case"), err)
		}
	}
	c.byID[id] = s
	c.kinds[kind]++
	c.n++
	return nil
}

// openWith runs note.Open with the required and optional keys and insists that every required
// key signed and that no signature is by any other key.
func openWith(entry []byte, required, optional []note.Verifier) (*note.Note, error) {
	var list []note.Verifier
	have := map[string]bool{}
	for _, v := range append(append([]note.Verifier{}, required...), optional...) {
		k := fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash())
		if !have[k] { // the operator registering itself: one key in both roles
			have[k] = true
			list = append(list, v)
		}
	}
	n, err := note.Open(entry, note.VerifierList(list...))
	if err != nil {
		return nil, err
	}
	signed := map[string]bool{}
	for _, s := range n.Sigs {
		signed[fmt.Sprintf("%s+%08x", s.Name, s.Hash)] = true
	}
	for _, v := range required {
		if k := fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash()); !signed[k] {
			return nil, &missingSignature{key: k, sigs: n.Sigs, unverified: n.UnverifiedSigs}
		}
	}
	if len(n.UnverifiedSigs) > 0 {
		u := n.UnverifiedSigs[0]
		return nil, &unexpectedSignature{key: fmt.Sprintf("%s+%08x", u.Name, u.Hash)}
	}
	return n, nil
}

type missingSignature struct {
	key        string
	sigs       []note.Signature
	unverified []note.Signature
}

func (e *missingSignature) Error() string {
	return fmt.Sprintf("no signature by %s (verified: %s; unattributed: %s)", e.key, sigNames(e.sigs), sigNames(e.unverified))
}

type unexpectedSignature struct{ key string }

func (e *unexpectedSignature) Error() string {
	return fmt.Sprintf("carries a signature by %s, which is none of the keys that may sign it", e.key)
}

func sigNames(sigs []note.Signature) string {
	if len(sigs) == 0 {
		return "none"
	}
	var out []string
	for _, s := range sigs {
		out = append(out, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	return strings.Join(out, ", ")
}

// explain turns note.Open's errors into a message naming the key, and says when a signature
// is by a key its party no longer holds.
func (c *statementChecker) explain(err error, required []note.Verifier) string {
	var inv *note.InvalidSignatureError
	var unv *note.UnverifiedNoteError
	var missing *missingSignature
	var unexpected *unexpectedSignature
	switch {
	case errors.As(err, &inv):
		return fmt.Sprintf("note.Open: %v: the signed text is not what %s+%08x signed", err, inv.Name, inv.Hash)
	case errors.As(err, &unv):
		var want []string
		for _, v := range required {
			want = append(want, fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash()))
		}
		return fmt.Sprintf("note.Open: %v: no signature by %s (signatures by: %s)%s",
			err, strings.Join(want, " and "), sigNames(unv.Note.UnverifiedSigs), c.replaced(unv.Note.UnverifiedSigs))
	case errors.As(err, &missing):
		return fmt.Sprintf("%v%s", err, c.replaced(missing.unverified))
	case errors.As(err, &unexpected):
		return err.Error()
	}
	return fmt.Sprintf("note.Open: %v", err)
}

// replaced names signatures by keys their party held before a rotation.
func (c *statementChecker) replaced(sigs []note.Signature) string {
	var out []string
	for _, s := range sigs {
		p := c.parties[s.Name]
		if p == nil {
			continue
		}
		for i, k := range p.oldKeys {
			if k.KeyHash() == s.Hash {
				out = append(out, fmt.Sprintf("%s+%08x is %s's key replaced at entry %d", s.Name, s.Hash, s.Name, p.rotatedAt[i]))
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "; " + strings.Join(out, "; ")
}

// applyCase checks a case statement against the case so far.
func (c *statementChecker) applyCase(index int64, h header, s *seen) error {
	kind, author, recipient, id := h.get("kind"), h.get("author"), h.get("recipient"), h.get("case")
	// The operator may still record a delivery or a missed deadline of a party revoked since.
	if rp := c.parties[recipient]; rp == nil || author != operatorID {
		if _, err := c.current(recipient, "recipient"); err != nil {
			return err
		}
	}
	if kind == "notice" || kind == "request" {
		if cs := c.cases[id]; cs != nil {
			return fmt.Errorf("the case was already opened at entry %d", cs.opened)
		}
		if author == recipient {
			return errors.New("a party cannot open a case with itself")
		}
		c.cases[id] = &caseState{kind: kind, requester: author, responder: recipient, opened: index, statements: 1}
		return nil
	}
	cs := c.cases[id]
	if cs == nil {
		return errors.New("no notice or request opened this case earlier in the log")
	}
	var refs []*seen
	for _, r := range h.values["ref"] {
		hash, _ := decodeHash(r) // checked by parseHeader
		prev := c.byID[hash]
		switch {
		case prev == nil:
			return fmt.Errorf("ref %s is no earlier statement of the log", r)
		case prev.caseID != id:
			return fmt.Errorf("ref %s is entry %d, of case %q", r, prev.index, prev.caseID)
		}
		refs = append(refs, prev)
	}
	isParty := func(p string) bool { return p == cs.requester || p == cs.responder }
	switch kind {
	case "delivered":
		if len(refs) != 1 {
			return fmt.Errorf("a delivered statement names exactly the delivered statement; it has %d refs", len(refs))
		}
		d := refs[0]
		switch {
		case !d.hasPayload:
			return fmt.Errorf("it records the delivery of entry %d, which has no payload", d.index)
		case d.recipient != recipient:
			return fmt.Errorf("it says %s downloaded entry %d, which is addressed to %s", recipient, d.index, d.recipient)
		case d.delivered >= 0:
			return fmt.Errorf("entry %d was already recorded as delivered at entry %d", d.index, d.delivered)
		}
		d.delivered = index
	case "overdue":
		if !isParty(recipient) {
			return fmt.Errorf("it names %s late, who is not a party of the case (%s, %s)", recipient, cs.requester, cs.responder)
		}
	case "acknowledged", "need-info", "answer", "declined":
		if author != cs.responder || recipient != cs.requester {
			return fmt.Errorf("only the responder %s makes it, to the requester %s", cs.responder, cs.requester)
		}
	case "closed", "withdrawn":
		if author != cs.requester || recipient != cs.responder {
			return fmt.Errorf("only the requester %s makes it, to the responder %s", cs.requester, cs.responder)
		}
	case "update":
		if !isParty(author) || !isParty(recipient) || author == recipient {
			return fmt.Errorf("an update goes between the case's parties %s and %s", cs.requester, cs.responder)
		}
	}
	cs.statements++
	return nil
}

// summary says what was checked.
func (c *statementChecker) summary() string {
	var kinds []string
	for _, k := range sortedKeysInt(c.kinds) {
		kinds = append(kinds, fmt.Sprintf("%d %s", c.kinds[k], k))
	}
	revoked := 0
	for _, p := range c.parties {
		if p.revoked >= 0 {
			revoked++
		}
	}
	return fmt.Sprintf("%d statements (%s) verified with note.Open against the keys the log itself registered (%d parties, %d revoked; %d cases; %d signatures)",
		c.n, strings.Join(kinds, ", "), len(c.parties), revoked, len(c.cases), c.sigs)
}

func sortedKeysInt(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkStatements replays every entry as a statement.
func checkStatements(origin string, entries [][]byte) (*statementChecker, error) {
	c := newStatementChecker(origin)
	for i, e := range entries {
		if err := c.apply(int64(i), e); err != nil {
			return nil, fmt.Errorf("entry %d: %v", i, err)
		}
	}
	return c, nil
}

// checkStatementFile checks a statement file as if it were entry `at` of the log.
func checkStatementFile(origin string, entries [][]byte, file string, at int64) error {
	if at < 0 || at > int64(len(entries)) {
		return fmt.Errorf("-statement-at %d is outside the log (0 to %d)", at, len(entries))
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading the statement file: %v", err)
	}
	if len(data) > 65535 {
		return fmt.Errorf("statement file %s: %d bytes, more than a log entry can hold", file, len(data))
	}
	c := newStatementChecker(origin)
	for i, e := range entries[:at] {
		if err := c.apply(int64(i), e); err != nil {
			return fmt.Errorf("entry %d: %v", i, err)
		}
	}
	if err := c.apply(at, data); err != nil {
		return fmt.Errorf("statement file %s as entry %d: %v", file, at, err)
	}
	return nil
}
