// Command hotline-check audits a hotline transparency log over HTTP with nothing but the Go
// reference implementations of the formats hotline follows: golang.org/x/mod/sumdb/note for the
// signed checkpoint and golang.org/x/mod/sumdb/tlog for the Merkle tree, tiles and proofs.
// It shares no code with hotline, so a bug in hotline's own verifier cannot hide one in its log.
//
// What it checks, for the tree of the checkpoint it reads:
//
//   - the checkpoint is a signed note with a valid Ed25519 signature by -vkey, whose key name is
//     the checkpoint's origin;
//   - every entry bundle (c2sp.org/tlog-tiles, uint16 length-prefixed entries) decodes to exactly
//     the entries its width promises, and each entry's RFC 6962 record hash equals the hash the
//     level-0 tile holds for it;
//   - every hash tile of every level is byte-for-byte the tile tlog.ReadTileData builds from an
//     in-memory hash store filled by tlog.StoredHashes from those record hashes alone, so no tile
//     is trusted because of another one (tlog.TileHashReader would authenticate tiles through
//     the root, but not every tile it returns when several root subtrees share one tile);
//   - tlog.TreeHash of that store equals the checkpoint's root;
//   - for a sample of indexes, inclusion proofs built locally (tlog.ProveRecord) and served by
//     hotline as JSON verify with tlog.CheckRecord and are identical;
//   - with -old-checkpoint: that checkpoint's signature, its root recomputed from the same
//     entries, and consistency proofs built locally (tlog.ProveTree) and served by hotline as
//     JSON, checked with tlog.CheckTree and compared;
//   - with -statements: every entry, read as a hotline statement, verifies with note.Open
//     against its author's key at that point of the log, the party directory rebuilt from the
//     log itself (see statements.go); with -statement-file, a statement file checked as if it
//     were entry -statement-at must pass the same checks.
//
// It prints one summary line and exits 0, or prints "hotline-check: FAIL: <reason>" and exits 1.
// Usage errors exit 2.
//
// Build it in GOPATH mode against Debian's golang-golang-x-mod-dev, nothing to download:
//
//	GO111MODULE=off GOPATH=$TMP:/usr/share/gocode GOPROXY=off go build -o hotline-check .
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// C2SP tlog-tiles fixes the tile height at 8: 256 hashes, or 256 entries per bundle.
const (
	tileHeight = 8
	tileWidth  = 1 << tileHeight
)

// An entry bundle holds at most 256 entries of at most 65,535 bytes plus their prefixes.
const maxResponse = tileWidth*(2+65535) + 1

var (
	flagURL     = flag.String("url", "", "log prefix, e.g. http://127.0.0.1:8080/log")
	flagVkey    = flag.String("vkey", "", "file holding the log's verifier key (signed-note vkey)")
	flagOld     = flag.String("old-checkpoint", "", "optional file with an earlier signed checkpoint the log must extend")
	flagSave    = flag.String("save-checkpoint", "", "optional file to write the checkpoint to once it is verified")
	flagCpFile  = flag.String("checkpoint-file", "", "read the checkpoint to audit from this file instead of <url>/checkpoint (the tiles and proofs still come from the server, at that checkpoint's size)")
	flagSamples = flag.Int("samples", 64, "inclusion proofs to check (first, last and random indexes); at least 50 unless the log is smaller")
	flagSeed    = flag.Int64("seed", 0, "seed for the random sample (0: from the clock; printed in the summary)")
	flagWorkers = flag.Int("workers", 8, "concurrent HTTP requests")
	flagStmts   = flag.Bool("statements", false, "also verify every entry as a hotline statement (docs/statements.md) signed by its author's key at that point of the log")
	flagStmtF   = flag.String("statement-file", "", "with -statements: also check this statement file as if it were entry -statement-at of the log")
	flagStmtAt  = flag.Int64("statement-at", -1, "the entry -statement-file stands in for (default: appended after the last entry)")
)

var client = &http.Client{Timeout: 2 * time.Minute}

// requests counts HTTP requests for the summary.
var requests struct {
	sync.Mutex
	n     int
	bytes int64
}

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: hotline-check -url http://HOST:PORT/log -vkey FILE [-old-checkpoint FILE] [-save-checkpoint FILE] [-checkpoint-file FILE] [-statements [-statement-file FILE [-statement-at N]]]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *flagURL == "" || *flagVkey == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *flagSamples < 1 || *flagWorkers < 1 {
		fmt.Fprintln(os.Stderr, "hotline-check: -samples and -workers must be positive")
		os.Exit(2)
	}
	if (*flagStmtF != "" || *flagStmtAt != -1) && !*flagStmts {
		fmt.Fprintln(os.Stderr, "hotline-check: -statement-file and -statement-at need -statements")
		os.Exit(2)
	}
	if *flagStmtAt != -1 && *flagStmtF == "" {
		fmt.Fprintln(os.Stderr, "hotline-check: -statement-at needs -statement-file")
		os.Exit(2)
	}
	summary, err := run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "hotline-check: FAIL: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(summary)
}

// checkpoint is a verified C2SP checkpoint.
type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
	msg    []byte // the whole signed note
}

func run() (string, error) {
	start := time.Now()
	vkeyText, err := os.ReadFile(*flagVkey)
	if err != nil {
		return "", fmt.Errorf("reading the verifier key: %v", err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkeyText)))
	if err != nil {
		return "", fmt.Errorf("verifier key in %s: %v", *flagVkey, err)
	}

	// 1. The checkpoint: signature first, then the C2SP body.
	var msg []byte
	source := *flagURL + "/checkpoint"
	if *flagCpFile != "" {
		source = *flagCpFile
		msg, err = os.ReadFile(*flagCpFile)
	} else {
		msg, err = get("checkpoint")
	}
	if err != nil {
		return "", fmt.Errorf("reading the checkpoint: %v", err)
	}
	cp, err := openCheckpoint(msg, verifier)
	if err != nil {
		return "", fmt.Errorf("checkpoint from %s: %v", source, err)
	}
	n := cp.size
	if n == 0 {
		return "", errors.New("the checkpoint is for an empty tree: nothing to check")
	}

	// 2. Every entry bundle and every hash tile of the tree of size n.
	hashTiles, bundleTiles := tilesForSize(n)
	all := append(append([]tlog.Tile{}, bundleTiles...), hashTiles...)
	data, err := fetchAll(all)
	if err != nil {
		return "", err
	}
	tileData := make(map[tlog.Tile][]byte, len(all))
	for i, t := range all {
		tileData[t] = data[i]
	}

	// 3. Record hashes from the entries, checked against the level-0 tiles as fetched.
	recordHashes := make([]tlog.Hash, 0, n)
	var allEntries [][]byte
	for _, b := range bundleTiles {
		entries, err := decodeBundle(tileData[b], b.W)
		if err != nil {
			return "", fmt.Errorf("%s: %v", c2spPath(b), err)
		}
		level0 := tlog.Tile{H: tileHeight, L: 0, N: b.N, W: b.W}
		tile := tileData[level0]
		if len(tile) != b.W*tlog.HashSize {
			return "", fmt.Errorf("%s holds %d bytes, want %d (%d hashes)", c2spPath(level0), len(tile), b.W*tlog.HashSize, b.W)
		}
		for j, e := range entries {
			h := tlog.RecordHash(e)
			var inTile tlog.Hash
			copy(inTile[:], tile[j*tlog.HashSize:])
			if h != inTile {
				return "", fmt.Errorf("entry %d (number %d of %s) has record hash %v but %s holds %v for it: the entry bundle and the level-0 tile disagree",
					b.N*tileWidth+int64(j), j, c2spPath(b), h, c2spPath(level0), inTile)
			}
			recordHashes = append(recordHashes, h)
			if *flagStmts {
				allEntries = append(allEntries, e)
			}
		}
	}
	if int64(len(recordHashes)) != n {
		return "", fmt.Errorf("the entry bundles hold %d entries, the checkpoint says %d", len(recordHashes), n)
	}

	// 4. An independent hash store built from the record hashes alone.
	store, err := buildStore(recordHashes)
	if err != nil {
		return "", err
	}

	// 5. Every hash tile, every level, byte for byte.
	for _, t := range hashTiles {
		want, err := tlog.ReadTileData(t, store)
		if err != nil {
			return "", fmt.Errorf("recomputing %s: %v", c2spPath(t), err)
		}
		if err := compareTile(t, tileData[t], want); err != nil {
			return "", err
		}
	}

	// 6. The root.
	root, err := tlog.TreeHash(n, store)
	if err != nil {
		return "", fmt.Errorf("computing the tree hash: %v", err)
	}
	if root != cp.root {
		return "", fmt.Errorf("the root recomputed from the %d entries is %v but the checkpoint says %v", n, root, cp.root)
	}

	// 7. Inclusion proofs, local and served.
	seed := *flagSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	rng := rand.New(rand.NewSource(seed))
	samples := sampleIndexes(n, *flagSamples, rng)
	for _, i := range samples {
		if err := checkInclusion(cp, i, recordHashes[i], store, verifier); err != nil {
			return "", err
		}
	}

	// 8. Consistency with an earlier checkpoint.
	consistent := ""
	if *flagOld != "" {
		oldMsg, err := os.ReadFile(*flagOld)
		if err != nil {
			return "", fmt.Errorf("reading the old checkpoint: %v", err)
		}
		old, err := openCheckpoint(oldMsg, verifier)
		if err != nil {
			return "", fmt.Errorf("old checkpoint from %s: %v", *flagOld, err)
		}
		proofs, err := checkConsistency(old, cp, store, recordHashes, rng, verifier)
		if err != nil {
			return "", err
		}
		consistent = fmt.Sprintf("; extends the checkpoint of size %d (root recomputed, %d proof(s) local and served agree and verify)", old.size, proofs)
	}

	// 9. Every entry as a hotline statement, keys from the log's own directory.
	statements := ""
	if *flagStmts {
		c, err := checkStatements(cp.origin, allEntries)
		if err != nil {
			return "", fmt.Errorf("statements: %v", err)
		}
		statements = "; " + c.summary()
		if *flagStmtF != "" {
			at := *flagStmtAt
			if at == -1 {
				at = n
			}
			if err := checkStatementFile(cp.origin, allEntries, *flagStmtF, at); err != nil {
				return "", fmt.Errorf("statements: %v", err)
			}
			statements += fmt.Sprintf("; statement file %s verified as entry %d", *flagStmtF, at)
		}
	}

	if *flagSave != "" {
		if err := os.WriteFile(*flagSave, cp.msg, 0o644); err != nil {
			return "", fmt.Errorf("saving the checkpoint: %v", err)
		}
	}
	requests.Lock()
	nreq, nbytes := requests.n, requests.bytes
	requests.Unlock()
	return fmt.Sprintf("hotline-check: OK: log %s size %d root %v: signature by %s verified, %d entries in %d bundles hashed against the level-0 tiles, %d hash tiles recomputed and identical, %d inclusion proofs (local and served) verified%s%s; %d requests, %d bytes, %.2f s, seed %d",
		cp.origin, n, cp.root, verifier.Name(), n, len(bundleTiles), len(hashTiles), len(samples), consistent, statements, nreq, nbytes, time.Since(start).Seconds(), seed), nil
}

// openCheckpoint verifies a signed note with the log's key and parses its text as a C2SP
// checkpoint. tlog.ParseTree is not used: it insists on the go.sum origin line.
func openCheckpoint(msg []byte, v note.Verifier) (*checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var inv *note.InvalidSignatureError
		var unv *note.UnverifiedNoteError
		switch {
		case errors.As(err, &inv):
			return nil, fmt.Errorf("checkpoint signature does not verify: %v", err)
		case errors.As(err, &unv):
			return nil, fmt.Errorf("checkpoint carries no signature by %s: %v", v.Name(), err)
		default:
			return nil, fmt.Errorf("checkpoint is not a valid signed note: %v", err)
		}
	}
	text := n.Text
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("checkpoint text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("checkpoint has %d lines, want at least 3 (origin, size, root)", len(lines))
	}
	origin, sizeLine, rootLine := lines[0], lines[1], lines[2]
	if origin == "" {
		return nil, errors.New("checkpoint origin line is empty")
	}
	for i, ext := range lines[3:] {
		if ext == "" {
			return nil, fmt.Errorf("checkpoint extension line %d is empty", i+1)
		}
	}
	size, err := strconv.ParseInt(sizeLine, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeLine {
		return nil, fmt.Errorf("checkpoint size %q is not a canonical decimal", sizeLine)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(rootLine)
	if err != nil || len(rootBytes) != tlog.HashSize {
		return nil, fmt.Errorf("checkpoint root %q is not the base64 of a 32-byte hash", rootLine)
	}
	// hotline names its log key after the origin, as C2SP tlog-checkpoint recommends; a note
	// verified with the right key but for another log must not pass.
	if origin != v.Name() {
		return nil, fmt.Errorf("checkpoint origin %q is not the verifier key's name %q", origin, v.Name())
	}
	cp := &checkpoint{origin: origin, size: size, msg: msg}
	copy(cp.root[:], rootBytes)
	return cp, nil
}

// tilesForSize lists the widest hash tiles of every level and the entry bundles of a tree of
// size n, as C2SP tlog-tiles publishes them. (tlog.NewTiles would also list every narrower
// partial width.)
func tilesForSize(n int64) (hashTiles, bundles []tlog.Tile) {
	for level := 0; n>>(tileHeight*uint(level)) > 0; level++ {
		count := n >> (tileHeight * uint(level))
		for i := int64(0); i < count/tileWidth; i++ {
			hashTiles = append(hashTiles, tlog.Tile{H: tileHeight, L: level, N: i, W: tileWidth})
		}
		if w := int(count % tileWidth); w > 0 {
			hashTiles = append(hashTiles, tlog.Tile{H: tileHeight, L: level, N: count / tileWidth, W: w})
		}
	}
	for _, t := range hashTiles {
		if t.L == 0 {
			bundles = append(bundles, tlog.Tile{H: tileHeight, L: -1, N: t.N, W: t.W})
		}
	}
	return hashTiles, bundles
}

// c2spPath maps x/mod's tile coordinates to C2SP tlog-tiles paths: the same x001/234 index
// encoding and .p/W suffix, but no height element, and "entries" instead of "data".
func c2spPath(t tlog.Tile) string {
	rest := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", tileHeight))
	if t.L == -1 {
		rest = "entries" + strings.TrimPrefix(rest, "data")
	}
	return "tile/" + rest
}

// decodeBundle splits a C2SP entry bundle (big-endian uint16 length, then the entry) into
// exactly w entries.
func decodeBundle(data []byte, w int) ([][]byte, error) {
	var entries [][]byte
	off := 0
	for off < len(data) {
		if len(entries) == w {
			return nil, fmt.Errorf("holds more than the %d entries of its width (%d bytes left at byte %d)", w, len(data)-off, off)
		}
		if len(data)-off < 2 {
			return nil, fmt.Errorf("ends inside the length prefix of entry %d at byte %d", len(entries), off)
		}
		l := int(data[off])<<8 | int(data[off+1])
		off += 2
		if len(data)-off < l {
			return nil, fmt.Errorf("entry %d claims %d bytes but only %d remain", len(entries), l, len(data)-off)
		}
		entries = append(entries, data[off:off+l])
		off += l
	}
	if len(entries) != w {
		return nil, fmt.Errorf("holds %d entries, its width says %d", len(entries), w)
	}
	return entries, nil
}

// memStore is a tlog.HashReader over hashes indexed by stored hash index.
type memStore []tlog.Hash

func (s memStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s)) {
			return nil, fmt.Errorf("stored hash %d is not in the recomputed tree (%d hashes)", x, len(s))
		}
		out[i] = s[x]
	}
	return out, nil
}

func buildStore(recordHashes []tlog.Hash) (memStore, error) {
	n := int64(len(recordHashes))
	store := make(memStore, 0, tlog.StoredHashCount(n))
	for i, h := range recordHashes {
		hs, err := tlog.StoredHashesForRecordHash(int64(i), h, store)
		if err != nil {
			return nil, fmt.Errorf("recomputing stored hashes for record %d: %v", i, err)
		}
		store = append(store, hs...)
	}
	if int64(len(store)) != tlog.StoredHashCount(n) {
		return nil, fmt.Errorf("recomputed %d stored hashes, tlog expects %d", len(store), tlog.StoredHashCount(n))
	}
	return store, nil
}

func compareTile(t tlog.Tile, got, want []byte) error {
	if bytes.Equal(got, want) {
		return nil
	}
	if len(got) != len(want) {
		return fmt.Errorf("%s holds %d bytes, want %d (%d hashes)", c2spPath(t), len(got), len(want), t.W)
	}
	for i := range got {
		if got[i] != want[i] {
			k := i / tlog.HashSize
			var g, w tlog.Hash
			copy(g[:], got[k*tlog.HashSize:])
			copy(w[:], want[k*tlog.HashSize:])
			return fmt.Errorf("%s (level %d, %d hashes) differs from the tile recomputed from the entries at byte %d: hash %d is %v, want %v",
				c2spPath(t), t.L, t.W, i, k, g, w)
		}
	}
	return nil // unreachable: unequal slices of equal length differ somewhere
}

// sampleIndexes picks the first and last index, the ends of the first tile, and random
// indexes, up to k distinct ones (all of them in a small tree), sorted.
func sampleIndexes(n int64, k int, rng *rand.Rand) []int64 {
	if int64(k) >= n {
		all := make([]int64, n)
		for i := range all {
			all[i] = int64(i)
		}
		return all
	}
	seen := map[int64]bool{}
	var out []int64
	add := func(i int64) {
		if i >= 0 && i < n && !seen[i] && len(out) < k {
			seen[i] = true
			out = append(out, i)
		}
	}
	add(0)
	add(n - 1)
	add(tileWidth - 1)
	add(tileWidth)
	add(n / 2)
	for len(out) < k {
		add(rng.Int63n(n))
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// inclusionDto and consistencyDto mirror hotline-server's InclusionProofDto and
// ConsistencyProofDto.
type inclusionDto struct {
	Index      int64    `json:"index"`
	TreeSize   int64    `json:"tree_size"`
	LeafHash   string   `json:"leaf_hash"`
	Proof      []string `json:"proof"`
	Checkpoint string   `json:"checkpoint"`
}

type consistencyDto struct {
	Old        int64    `json:"old"`
	New        int64    `json:"new"`
	Proof      []string `json:"proof"`
	Checkpoint string   `json:"checkpoint"`
}

func decodeHashes(what string, in []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(in))
	for i, s := range in {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("%s: hash %d %q is not the base64 of 32 bytes", what, i, s)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

// checkServedCheckpoint checks the checkpoint a JSON proof carries: signed by the log, and not
// contradicting the tree the proof is for.
func checkServedCheckpoint(what, text string, size int64, root tlog.Hash, v note.Verifier) error {
	cp, err := openCheckpoint([]byte(text), v)
	if err != nil {
		return fmt.Errorf("%s: the checkpoint it carries: %v", what, err)
	}
	if cp.size < size {
		return fmt.Errorf("%s: carries a checkpoint of size %d, smaller than the proof's tree %d", what, cp.size, size)
	}
	if cp.size == size && cp.root != root {
		return fmt.Errorf("%s: carries a checkpoint of size %d with root %v, not %v", what, size, cp.root, root)
	}
	return nil
}

func checkInclusion(cp *checkpoint, i int64, leaf tlog.Hash, store memStore, v note.Verifier) error {
	n := cp.size
	local, err := tlog.ProveRecord(n, i, store)
	if err != nil {
		return fmt.Errorf("tlog.ProveRecord(%d, %d) over the recomputed hashes: %v", n, i, err)
	}
	if err := tlog.CheckRecord(local, n, cp.root, i, leaf); err != nil {
		return fmt.Errorf("local inclusion proof of entry %d in tree %d does not verify: %v", i, n, err)
	}
	what := fmt.Sprintf("served inclusion proof of entry %d in tree %d", i, n)
	body, err := get(fmt.Sprintf("proof/inclusion?index=%d&size=%d", i, n))
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	var dto inclusionDto
	if err := json.Unmarshal(body, &dto); err != nil {
		return fmt.Errorf("%s: not the expected JSON: %v", what, err)
	}
	if dto.Index != i || dto.TreeSize != n {
		return fmt.Errorf("%s: answers for index %d, size %d", what, dto.Index, dto.TreeSize)
	}
	served, err := decodeHashes(what, dto.Proof)
	if err != nil {
		return err
	}
	if dto.LeafHash != base64.StdEncoding.EncodeToString(leaf[:]) {
		return fmt.Errorf("%s: leaf hash %s, but the entry's record hash is %v", what, dto.LeafHash, leaf)
	}
	if err := tlog.CheckRecord(served, n, cp.root, i, leaf); err != nil {
		return fmt.Errorf("%s does not verify with tlog.CheckRecord: %v", what, err)
	}
	if !hashesEqual(served, local) {
		return fmt.Errorf("%s verifies but differs from tlog.ProveRecord's (%d vs %d hashes)", what, len(served), len(local))
	}
	return checkServedCheckpoint(what, dto.Checkpoint, n, cp.root, v)
}

// checkConsistency checks that cp extends old: old's root recomputed from the first old.size
// entries, and consistency proofs (served and tlog.ProveTree) verified with tlog.CheckTree.
// A few inclusion proofs at the old size are also checked against old's root. Returns the
// number of consistency proofs checked.
func checkConsistency(old, cp *checkpoint, store memStore, recordHashes []tlog.Hash, rng *rand.Rand, v note.Verifier) (int, error) {
	if old.origin != cp.origin {
		return 0, fmt.Errorf("old checkpoint is for log %q, not %q", old.origin, cp.origin)
	}
	if old.size > cp.size {
		return 0, fmt.Errorf("old checkpoint has size %d, larger than the current %d: the log shrank", old.size, cp.size)
	}
	if old.size == 0 {
		return 0, nil
	}
	oldRoot, err := tlog.TreeHash(old.size, store)
	if err != nil {
		return 0, fmt.Errorf("computing the tree hash at size %d: %v", old.size, err)
	}
	if oldRoot != old.root {
		return 0, fmt.Errorf("the first %d entries of the current tree hash to %v but the old checkpoint says %v: the log forked", old.size, oldRoot, old.root)
	}
	if old.size == cp.size {
		return 0, nil
	}
	local, err := tlog.ProveTree(cp.size, old.size, store)
	if err != nil {
		return 0, fmt.Errorf("tlog.ProveTree(%d, %d) over the recomputed hashes: %v", cp.size, old.size, err)
	}
	if err := tlog.CheckTree(local, cp.size, cp.root, old.size, old.root); err != nil {
		return 0, fmt.Errorf("local consistency proof from %d to %d does not verify: %v", old.size, cp.size, err)
	}
	what := fmt.Sprintf("served consistency proof from size %d to %d", old.size, cp.size)
	body, err := get(fmt.Sprintf("proof/consistency?old=%d&new=%d", old.size, cp.size))
	if err != nil {
		return 0, fmt.Errorf("%s: %v", what, err)
	}
	var dto consistencyDto
	if err := json.Unmarshal(body, &dto); err != nil {
		return 0, fmt.Errorf("%s: not the expected JSON: %v", what, err)
	}
	if dto.Old != old.size || dto.New != cp.size {
		return 0, fmt.Errorf("%s: answers for sizes %d to %d", what, dto.Old, dto.New)
	}
	served, err := decodeHashes(what, dto.Proof)
	if err != nil {
		return 0, err
	}
	if err := tlog.CheckTree(served, cp.size, cp.root, old.size, old.root); err != nil {
		return 0, fmt.Errorf("%s does not verify with tlog.CheckTree: %v", what, err)
	}
	if !hashesEqual(served, local) {
		return 0, fmt.Errorf("%s verifies but differs from tlog.ProveTree's (%d vs %d hashes)", what, len(served), len(local))
	}
	if err := checkServedCheckpoint(what, dto.Checkpoint, cp.size, cp.root, v); err != nil {
		return 0, err
	}
	// Receipts issued at the old size must still check against the old root.
	oldCp := &checkpoint{origin: old.origin, size: old.size, root: old.root}
	for _, i := range sampleIndexes(old.size, 8, rng) {
		if err := checkInclusion(oldCp, i, recordHashes[i], store, v); err != nil {
			return 0, err
		}
	}
	return 1, nil
}

func hashesEqual(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// get fetches <url>/<path> and insists on 200 OK.
func get(path string) ([]byte, error) {
	u := strings.TrimSuffix(*flagURL, "/") + "/" + path
	resp, err := client.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the body: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		line := strings.SplitN(strings.TrimSpace(string(body)), "\n", 2)[0]
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, line)
	}
	if len(body) >= maxResponse {
		return nil, fmt.Errorf("GET %s: response larger than any tile or bundle can be", u)
	}
	requests.Lock()
	requests.n++
	requests.bytes += int64(len(body))
	requests.Unlock()
	return body, nil
}

// fetchAll fetches the tiles concurrently; on failure it reports the first failing tile in
// list order, so the message does not depend on scheduling.
func fetchAll(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	errs := make([]error, len(tiles))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < *flagWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				data[i], errs[i] = get(c2spPath(tiles[i]))
			}
		}()
	}
	for i := range tiles {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("fetching %s: %v", c2spPath(tiles[i]), err)
		}
	}
	return data, nil
}
