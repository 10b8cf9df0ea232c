package generator_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/finlake/finlake/contract"
)

// The generator writes events with its own allocation-free encoder; this
// holds it to the contract's declaration of the record: every valid event
// decodes into contract.Transaction without a field left over and encodes
// back to the very same bytes (names, order, number text, escaping).
func TestEveryValidEventIsExactlyTheContractsTransactionRecord(t *testing.T) {
	cfg := testConfig(7)
	cfg.MalformedRate = 0
	for i, r := range generate(t, cfg, 20_000) {
		var tx contract.Transaction
		dec := json.NewDecoder(bytes.NewReader(r.Value))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tx); err != nil {
			t.Fatalf("record %d does not decode into contract.Transaction: %v\n%s", i, err, r.Value)
		}
		back, err := contract.Marshal(tx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, r.Value) {
			t.Fatalf("record %d changes through contract.Transaction:\ngenerator %s\ncontract  %s", i, r.Value, back)
		}
	}
}
