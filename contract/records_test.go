package contract_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/finlake/finlake/contract"
)

// The vectors in testdata/ hold one record of each kind exactly as its
// writer produces it today: the generator (raw event), the Flink job
// (enriched transaction, alert, dead letter) and lakectl rules (rule, FX
// table). flinkjob's ContractVectorsTest holds the Java side to the same files.

func vector(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// strict decodes like the readers do (numbers as json.Number) and fails on
// a field the Go type does not declare, so a rename shows on either side.
func strict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%T: %v\n%s", v, err, b)
	}
}

func sameBytes(t *testing.T, name string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s through the Go type differs from the writer's bytes:\ngot  %s\nwant %s", name, got, want)
	}
}

func TestEveryRecordVectorDecodesIntoItsGoTypeAndEncodesBackToTheSameBytes(t *testing.T) {
	for _, c := range []struct {
		file string
		into any
	}{
		{"raw_transaction.json", &contract.Transaction{}},
		{"enriched_transaction.json", &contract.EnrichedTransaction{}},
		{"alert.json", &contract.Alert{}},
		{"dead_letter.json", &contract.DeadLetterRecord{}},
		{"dead_letter_rule.json", &contract.DeadLetterRecord{}},
	} {
		t.Run(c.file, func(t *testing.T) {
			want := vector(t, c.file)
			strict(t, want, c.into)
			got, err := contract.Marshal(c.into)
			if err != nil {
				t.Fatal(err)
			}
			sameBytes(t, c.file, got, want)
		})
	}
}

func TestTheAlertVectorEmbedsTheRawEventVector(t *testing.T) {
	var a contract.Alert
	var raw contract.Transaction
	strict(t, vector(t, "alert.json"), &a)
	strict(t, vector(t, "raw_transaction.json"), &raw)
	if a.Transaction != raw || a.TransactionID != raw.TransactionID || a.AccountID != raw.AccountID {
		t.Fatalf("alert carries transaction %+v, the raw event is %+v", a.Transaction, raw)
	}
}

func TestRuleAndFXVectorsAreWhatTheirEncodersWrite(t *testing.T) {
	want := vector(t, "rule.json")
	var r contract.Rule
	strict(t, want, &r)
	decoded, err := contract.DecodeRule(r.Name, want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decoded.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "rule.json", got, want)

	want = vector(t, "fx_rates.json")
	var f contract.FXTable
	strict(t, want, &f)
	fx, err := contract.DecodeFX(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err = fx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "fx_rates.json", got, want)
}

func TestDataDirDefaultsToDotDataAndNamesEachEntryUnderTheRoot(t *testing.T) {
	def, custom := contract.DataDir{}, contract.DataDir{Root: "/srv/lake"}
	got := []string{def.Catalog(), def.Warehouse(), custom.Catalog(), custom.Warehouse(), custom.Logs(),
		custom.Stack(), custom.Kafka(), custom.FlinkCheckpoints()}
	want := []string{"data/catalog.db", "data/warehouse", "/srv/lake/catalog.db", "/srv/lake/warehouse", "/srv/lake/logs",
		"/srv/lake/stack", "/srv/lake/kafka", "/srv/lake/flink/checkpoints"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("layout %v, want %v", got, want)
		}
	}
}
