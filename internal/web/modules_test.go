package web

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	webfiles "github.com/mass-consensus/mass/web"
)

// TestAppModules runs the app's own modules in headless Chromium against
// Go: transfers built and signed in JavaScript (web/tx.js, keys imported
// by web/wallet.js) are Go's bytes, decoding refuses what Go refuses, the
// wallet keeps its seeds encrypted, and every string has both languages.
func TestAppModules(t *testing.T) {
	b := newBrowser(t, serveApp(t))
	t.Run("transfer bytes", func(t *testing.T) { testTransferBytes(t, b) })
	t.Run("transfer decoding", func(t *testing.T) { testTransferDecoding(t, b) })
	t.Run("transfer building", func(t *testing.T) { testTransferBuilding(t, b) })
	t.Run("wallet storage", func(t *testing.T) { testWalletStorage(t, b) })
	t.Run("strings", func(t *testing.T) { testStrings(t, b) })
}

// serveApp serves the app (without a genesis) and the test pages on
// 127.0.0.1; it returns the URL.
func serveApp(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/test/", http.StripPrefix("/test", newHandler(os.DirFS("testdata"))))
	mux.Handle("/", Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// callApp runs export fn of testdata/app.js on arg and decodes its JSON
// answer into out.
func (b *browser) callApp(t *testing.T, fn string, arg, out any) {
	t.Helper()
	b.callModule(t, "/test/app.js", fn, arg, out)
}

// transferCase is a transfer signed by seeded keys.
type transferCase struct {
	name    string
	chainID string
	amount  uint64
	memo    []byte
	nonce   uint64
}

func testTransferBytes(t *testing.T, b *browser) {
	alice, bob := seeded(t, "alice"), seeded(t, "bob")
	cases := []transferCase{
		{name: "plain", chainID: "web-test", amount: 25, nonce: 0},
		{name: "a memo in Chinese", chainID: "web-test", amount: 1, memo: []byte("房租 · rent for May"), nonce: 7},
		{name: "the largest amount and a nonce above 2^53", chainID: "c", amount: 1<<64 - 1, nonce: 1<<63 + 5},
		{name: "a memo of 256 bytes and a chain ID of 64", chainID: strings.Repeat("z", 64), amount: 1 << 53, memo: bytes.Repeat([]byte{0xff, 0x00}, 128), nonce: 1<<53 + 1},
		{name: "a memo of raw bytes", chainID: "mass-devnet", amount: 10_000, memo: []byte{0, 1, 2, 0xc3}, nonce: 64},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var js struct {
				Sender, Partial, Full, Hash, Signed string
				Bad, BadElsewhere                   int
			}
			b.callApp(t, "signTransfer", map[string]any{
				"chainID": c.chainID, "seed": hex.EncodeToString(alice.Seed()), "cosignSeed": hex.EncodeToString(bob.Seed()),
				"to": bob.Public().String(), "amount": fmt.Sprint(c.amount), "memo": hex.EncodeToString(c.memo), "nonce": fmt.Sprint(c.nonce),
			}, &js)
			// Go builds and signs the same transfer.
			g := tx.New(alice.Public(), c.nonce, &tx.Transfer{To: bob.Public(), Amount: c.amount, Memo: c.memo})
			if js.Sender != alice.Public().String() {
				t.Fatalf("JS derived the public key %s from the seed, Go %s", js.Sender, alice.Public())
			}
			if want := hex.EncodeToString(g.SignedBytes(c.chainID)); js.Signed != hex.EncodeToString([]byte(crypto.DomainTx+"\x00"))+want {
				t.Fatalf("signed message:\nJS %s\nGo %s", js.Signed, want)
			}
			if err := g.Sign(c.chainID, alice); err != nil {
				t.Fatal(err)
			}
			if want := hex.EncodeToString(g.Marshal()); js.Partial != want {
				t.Fatalf("signed by the sender:\nJS %s\nGo %s", js.Partial, want)
			}
			if err := g.Sign(c.chainID, bob); err != nil {
				t.Fatal(err)
			}
			if want := hex.EncodeToString(g.Marshal()); js.Full != want {
				t.Fatalf("signed by both:\nJS %s\nGo %s", js.Full, want)
			}
			// Go accepts the browser's bytes as they are.
			raw, _ := hex.DecodeString(js.Full)
			got, err := tx.Unmarshal(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Verify(c.chainID); err != nil {
				t.Fatalf("Go refuses the browser's signatures: %v", err)
			}
			body, ok := got.Body.(*tx.Transfer)
			if !ok || got.Sender != alice.Public() || got.Nonce != c.nonce || body.To != bob.Public() || body.Amount != c.amount || !bytes.Equal(body.Memo, c.memo) {
				t.Fatalf("decoded %+v %+v", got, got.Body)
			}
			if h := got.Hash(); js.Hash != hex.EncodeToString(h[:]) {
				t.Fatalf("hash: JS %s, Go %x", js.Hash, h)
			}
			if js.Bad != -1 || js.BadElsewhere != 0 {
				t.Fatalf("JS's own check: %d on its chain (want -1), %d on another (want 0)", js.Bad, js.BadElsewhere)
			}
			if err := got.Verify(otherChain(c.chainID)); err == nil {
				t.Fatal("Go accepts the signatures on another chain")
			}
		})
	}
}

// otherChain is another chain ID of the same length (testdata/app.js has
// the same).
func otherChain(id string) string {
	if strings.HasSuffix(id, "x") {
		return id[:len(id)-1] + "y"
	}
	return id[:len(id)-1] + "x"
}

// decoded is what JS made of a transaction's bytes.
type decoded struct {
	OK     bool
	Sender string
	To     string
	Amount string
	Memo   string
	Nonce  string
	Sigs   int
	Error  *struct{ Name, Message string }
}

func testTransferDecoding(t *testing.T, b *browser) {
	alice, bob := seeded(t, "alice"), seeded(t, "bob")
	const chain = "web-test"
	signed := func(n int, amount uint64, memo []byte) []byte {
		g := tx.New(alice.Public(), 3, &tx.Transfer{To: bob.Public(), Amount: amount, Memo: memo})
		for _, k := range []*crypto.PrivateKey{alice, bob}[:n] {
			if err := g.Sign(chain, k); err != nil {
				t.Fatal(err)
			}
		}
		return g.Marshal()
	}
	full, half, none := signed(2, 99, []byte("hi")), signed(1, 99, []byte("hi")), signed(0, 99, nil)
	edit := func(raw []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(raw)) }
	// Offsets in a transfer: version 0, type 1, sender 2..33, nonce 34..41,
	// payload length 42..45, to 46..77, amount 78..85, memo length 86..89.
	smallOrder := make([]byte, 32)
	smallOrder[0] = 1 // the identity: a point of small order
	cases := []struct {
		name    string
		raw     []byte
		partial bool
	}{
		{"signed by both", full, false},
		{"signed by the sender, partial", half, true},
		{"signed by nobody, partial", none, true},
		{"signed by the sender, not partial", half, false},
		{"a trailing byte", append(bytes.Clone(full), 0), false},
		{"truncated", full[:len(full)-1], false},
		{"version 2", edit(full, func(r []byte) []byte { r[0] = 2; return r }), false},
		{"another type", edit(full, func(r []byte) []byte { r[1] = 2; return r }), false},
		{"an unknown type", edit(full, func(r []byte) []byte { r[1] = 99; return r }), false},
		{"an amount of 0", edit(full, func(r []byte) []byte { copy(r[78:86], make([]byte, 8)); return r }), false},
		{"a memo longer than its payload", edit(full, func(r []byte) []byte { r[89] = 3; return r }), false},
		{"three signatures", append(edit(full, func(r []byte) []byte { r[len(r)-129] = 3; return r }), make([]byte, 64)...), true},
		{"nine signatures", edit(none, func(r []byte) []byte { r[len(r)-1] = 9; return append(r, make([]byte, 9*64)...) }), true},
		{"a sender of small order", edit(half, func(r []byte) []byte { copy(r[2:34], smallOrder); return r }), true},
		{"a recipient of small order", edit(half, func(r []byte) []byte { copy(r[46:78], smallOrder); return r }), true},
		{"a memo of 257 bytes", memoTx(t, alice, bob, 257), true},
		{"a memo of 256 bytes", memoTx(t, alice, bob, 256), true},
		{"empty", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var js decoded
			b.callApp(t, "decodeTransfer", map[string]any{"hex": hex.EncodeToString(c.raw), "partial": c.partial}, &js)
			unmarshal := tx.Unmarshal
			if c.partial {
				unmarshal = tx.UnmarshalPartial
			}
			g, err := unmarshal(c.raw)
			if err != nil || g.Body.Type() != tx.TypeTransfer {
				if js.OK {
					t.Fatalf("Go refuses it (%v, %v), JS decodes %+v", err, g, js)
				}
				t.Logf("both refuse: Go %v; JS %s", err, js.Error.Message)
				return
			}
			if !js.OK {
				t.Fatalf("Go decodes it, JS refuses: %+v", js.Error)
			}
			body := g.Body.(*tx.Transfer)
			want := decoded{OK: true, Sender: g.Sender.String(), To: body.To.String(), Amount: fmt.Sprint(body.Amount),
				Memo: hex.EncodeToString(body.Memo), Nonce: fmt.Sprint(g.Nonce), Sigs: len(g.Sigs)}
			if js != want {
				t.Fatalf("JS %+v\nGo %+v", js, want)
			}
		})
	}
}

// memoTx is an unsigned transfer whose memo has n bytes, encoded by hand
// (Go's encoder writes any length; its decoder refuses more than 256).
func memoTx(t *testing.T, from, to *crypto.PrivateKey, n int) []byte {
	t.Helper()
	toKey, fromKey := to.Public(), from.Public()
	var p []byte
	p = append(p, toKey[:]...)
	p = append(p, 0, 0, 0, 0, 0, 0, 0, 1)
	p = append(p, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	p = append(p, bytes.Repeat([]byte("m"), n)...)
	out := []byte{1, 1}
	out = append(out, fromKey[:]...)
	out = append(out, 0, 0, 0, 0, 0, 0, 0, 0)
	out = append(out, byte(len(p)>>24), byte(len(p)>>16), byte(len(p)>>8), byte(len(p)))
	out = append(out, p...)
	return append(out, 0)
}

func testTransferBuilding(t *testing.T, b *browser) {
	alice, bob := seeded(t, "alice").Public().String(), seeded(t, "bob").Public().String()
	cases := []map[string]any{
		{"sender": alice, "to": bob, "amount": "0", "nonce": "0"},
		{"sender": alice, "to": bob, "amount": "18446744073709551616", "nonce": "0"},
		{"sender": alice, "to": bob, "amount": "-1", "nonce": "0"},
		{"sender": alice, "to": bob, "amount": "1", "nonce": "18446744073709551616"},
		{"sender": alice, "to": alice, "amount": "1", "nonce": "0"},
		{"sender": alice, "to": bob[:40], "amount": "1", "nonce": "0"},
		{"sender": alice, "to": bob, "amount": "1", "nonce": "0", "memo": strings.Repeat("字", 86)}, // 258 bytes
		{"sender": alice, "to": bob, "amount": "1.5", "nonce": "0"},
	}
	var errs []*struct{ Name, Message string }
	b.callApp(t, "buildErrors", cases, &errs)
	if len(errs) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(errs), len(cases))
	}
	for i, e := range errs {
		if e == nil || e.Name != "TxError" {
			t.Errorf("case %v: %+v, want a TxError", cases[i], e)
		}
	}
}

// attempt is the outcome of one wallet call.
type attempt[T any] struct {
	OK    bool
	Value T
	Error *struct{ Name, Code, Message string }
}

type walletAccount struct {
	Public string
	ID     string
	Label  string
}

// storedBox is an encrypted value as IndexedDB holds it (bytes as hex).
type storedBox struct {
	IV   string
	Data string
}

func testWalletStorage(t *testing.T, b *browser) {
	alice := seeded(t, "alice")
	keyFile := fmt.Sprintf("{\n  \"seed\": %q,\n  \"public\": %q\n}\n", hex.EncodeToString(alice.Seed()), alice.Public())
	mismatched := fmt.Sprintf(`{"seed": %q, "public": %q}`, hex.EncodeToString(alice.Seed()), seeded(t, "bob").Public())
	message := []byte("mass/tx/v1\x00 any message")
	var out struct {
		ExistsBefore bool
		Weak         attempt[any]
		ImportLocked attempt[any]
		Create       attempt[any]
		Imported     attempt[walletAccount]
		Duplicate    attempt[any]
		Mismatched   attempt[any]
		NotJSON      attempt[any]
		Generated    attempt[walletAccount]
		Accounts     []walletAccount
		Vault        struct {
			Version    int
			KDF        string `json:"kdf"`
			Salt       string
			Iterations int
			Cipher     string
			Check      storedBox
		}
		Records []struct {
			Public string
			Label  string
			Seed   storedBox
		}
		ExportLocked       attempt[any]
		SignLocked         attempt[any]
		ReopenedUnlocked   bool
		Wrong              attempt[any]
		UnlockedAfterWrong bool
		Right              attempt[any]
		Exported           attempt[string]
		ExportedFresh      attempt[string]
		Signature          attempt[string]
		Removed            attempt[any]
		AccountsAfter      []walletAccount
	}
	b.callApp(t, "walletLife", map[string]any{
		"db": "wallet-test", "passphrase": "correct horse battery", "keyFile": keyFile, "mismatched": mismatched,
		"message": hex.EncodeToString(message),
	}, &out)
	code := func(what string, a attempt[any], want string) {
		t.Helper()
		if a.OK || a.Error == nil || a.Error.Code != want {
			t.Errorf("%s: %+v, want the error %q", what, a, want)
		}
	}
	if out.ExistsBefore {
		t.Error("a new database holds a wallet")
	}
	code("a short passphrase", out.Weak, "weak_passphrase")
	code("an import before the wallet exists", out.ImportLocked, "no_wallet")
	if !out.Create.OK || !out.Imported.OK || !out.Generated.OK {
		t.Fatalf("create %+v, import %+v, generate %+v", out.Create, out.Imported, out.Generated)
	}
	if a := out.Imported.Value; a.Public != alice.Public().String() || a.ID != alice.Public().ID().String() || a.Label != "alice" {
		t.Errorf("imported %+v, want alice's key and ID", a)
	}
	code("the same key again", out.Duplicate, "duplicate")
	code("a key file whose public key is another's", out.Mismatched, "key_mismatch")
	code("a file that is not JSON", out.NotJSON, "bad_key_file")
	if len(out.Accounts) != 2 || out.Accounts[0].Label != "alice" || out.Accounts[1].Label != "fresh" {
		t.Errorf("accounts %+v", out.Accounts)
	}
	// What is stored: the KDF's parameters, and each seed encrypted.
	v := out.Vault
	if v.KDF != "PBKDF2-SHA-256" || v.Iterations < 600_000 || len(v.Salt) != 32 || v.Cipher != "AES-GCM-256" || len(v.Check.IV) != 24 {
		t.Errorf("the vault record %+v", v)
	}
	if len(out.Records) != 2 {
		t.Fatalf("%d account records", len(out.Records))
	}
	seeds := map[string]string{alice.Public().String(): hex.EncodeToString(alice.Seed())}
	if out.ExportedFresh.OK {
		var kf struct{ Seed, Public string }
		if err := json.Unmarshal([]byte(out.ExportedFresh.Value), &kf); err != nil {
			t.Fatal(err)
		}
		k, err := crypto.ParsePublicKey(kf.Public)
		if err != nil || kf.Public != out.Generated.Value.Public {
			t.Fatalf("the made key's file %+v: %v", kf, err)
		}
		sk, err := crypto.KeyFromSeed(must(hex.DecodeString(kf.Seed)))
		if err != nil || sk.Public() != k {
			t.Fatalf("the made key's seed is not its public key's: %v", err)
		}
		seeds[kf.Public] = kf.Seed
	} else {
		t.Errorf("exporting the made key: %+v", out.ExportedFresh)
	}
	for _, r := range out.Records {
		seed := seeds[r.Public]
		// AES-GCM: the 32-byte seed and a 16-byte tag; never the seed itself.
		if len(r.Seed.IV) != 24 || len(r.Seed.Data) != 96 || seed == "" || strings.Contains(r.Seed.Data, seed) || r.Seed.IV == v.Check.IV {
			t.Errorf("the stored record of %s (%s): %+v", r.Public, r.Label, r.Seed)
		}
		raw := must(json.Marshal(r))
		if seed != "" && strings.Contains(string(raw), seed) {
			t.Errorf("the record of %s holds its seed in clear", r.Public)
		}
	}
	// Locked, and a second opening, refuse what needs the seed.
	code("export while locked", out.ExportLocked, "locked")
	code("sign while locked", out.SignLocked, "locked")
	if out.ReopenedUnlocked {
		t.Error("the wallet opens unlocked")
	}
	code("a wrong passphrase", out.Wrong, "wrong_passphrase")
	if out.UnlockedAfterWrong {
		t.Error("a wrong passphrase unlocked the wallet")
	}
	if !out.Right.OK || !out.Exported.OK {
		t.Fatalf("unlock %+v, export %+v", out.Right, out.Exported)
	}
	if out.Exported.Value != keyFile {
		t.Errorf("exported\n%s\nwant the imported file\n%s", out.Exported.Value, keyFile)
	}
	sig := must(hex.DecodeString(out.Signature.Value))
	if pub := alice.Public(); !out.Signature.OK || !ed25519.Verify(pub[:], message, sig) {
		t.Errorf("the wallet's signature does not verify in Go: %+v", out.Signature)
	}
	if !out.Removed.OK || len(out.AccountsAfter) != 1 || out.AccountsAfter[0].Public != alice.Public().String() {
		t.Errorf("after removing the made key: %+v %+v", out.Removed, out.AccountsAfter)
	}
}

// dynamicKeys are the keys the app builds (t(`nav.${n}`) …), which a
// scan of t('…') cannot see.
var dynamicKeys = []string{
	"nav.wallet", "nav.account", "nav.transfer", "nav.governance", "nav.network",
	"lang.en", "lang.zh", "role.guest", "role.member", "role.supervisor",
	"walletError.no_wallet", "walletError.exists", "walletError.locked", "walletError.wrong_passphrase",
	"walletError.weak_passphrase", "walletError.bad_key_file", "walletError.key_mismatch", "walletError.duplicate",
	"walletError.unknown_account", "walletError.bad_label", "walletError.unsupported",
}

var usedKey = regexp.MustCompile(`\bt\('([A-Za-z.]+)'`)

// testStrings checks that both languages have the same keys, and that
// every key the app's modules use is in them.
func testStrings(t *testing.T, b *browser) {
	var tables map[string][]string
	b.callApp(t, "i18nKeys", nil, &tables)
	en, zh := tables["en"], tables["zh"]
	slices.Sort(en)
	slices.Sort(zh)
	if len(en) < 50 || !slices.Equal(en, zh) {
		t.Fatalf("the languages' keys differ:\nen %v\nzh %v", en, zh)
	}
	used := map[string]bool{}
	for _, k := range dynamicKeys {
		used[k] = true
	}
	err := fs.WalkDir(webfiles.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		src, err := fs.ReadFile(webfiles.FS, p)
		for _, m := range usedKey.FindAllSubmatch(src, -1) {
			used[string(m[1])] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range slices.Sorted(maps.Keys(used)) {
		if _, ok := slices.BinarySearch(en, k); !ok {
			t.Errorf("the key %q is used but has no string", k)
		}
	}
	if len(used) < 100 {
		t.Errorf("only %d keys found in use: is the scan broken?", len(used))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
