//go:build duckdb_arrow

package flight_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/finlake/finlake/flight"
	"github.com/finlake/finlake/lake"
)

func TestGetObjectsAndTableSchemas(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	l.createTx(t, "alerts")
	l.appendRows(t, "transactions", makeRows("a", 3, day1))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	ctx := context.Background()

	rdr, err := c.conn.GetObjects(ctx, adbc.ObjectDepthAll, nil, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var found []string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		cats := rec.Column(0).(*array.String)
		schemas := rec.Column(1).(*array.List)
		dbs := schemas.ListValues().(*array.Struct)
		for i := 0; i < int(rec.NumRows()); i++ {
			start, end := schemas.ValueOffsets(i)
			for j := start; j < end; j++ {
				dbName := dbs.Field(0).(*array.String).Value(int(j))
				tables := dbs.Field(1).(*array.List)
				tstruct := tables.ListValues().(*array.Struct)
				ts, te := tables.ValueOffsets(int(j))
				for k := ts; k < te; k++ {
					name := tstruct.Field(0).(*array.String).Value(int(k))
					typ := tstruct.Field(1).(*array.String).Value(int(k))
					cols := tstruct.Field(2).(*array.List)
					cs, ce := cols.ValueOffsets(int(k))
					found = append(found, fmt.Sprintf("%s.%s.%s.%s/%d", cats.Value(i), dbName, name, typ, ce-cs))
				}
			}
		}
	}
	want := "finlake.lake.alerts.TABLE/5 finlake.lake.transactions.TABLE/5"
	if strings.Join(found, " ") != want {
		t.Fatalf("GetObjects: %v, want %s", found, want)
	}

	ns := "lake"
	sc, err := c.conn.GetTableSchema(ctx, nil, &ns, "transactions")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, f := range sc.Fields() {
		names = append(names, f.Name+":"+f.Type.String())
	}
	if got := strings.Join(names, ","); got != "transaction_id:utf8,timestamp:timestamp[us, tz=Etc/UTC],account_id:utf8,amount:decimal(18, 2),currency:utf8" {
		t.Fatalf("table schema: %s", got)
	}
	// The query result carries the same schema as the catalog reports.
	_, qs, err := c.query("SELECT * FROM lake.transactions")
	if err != nil || !qs.Equal(sc) {
		t.Fatalf("query schema %v differs from table schema %v (%v)", qs, sc, err)
	}

	tt, err := c.conn.GetTableTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tt.Release()
	tt.Next()
	if v := tt.RecordBatch().Column(0).ValueStr(0); v != "TABLE" {
		t.Fatalf("table types: %s", v)
	}
	info, err := c.conn.GetInfo(ctx, []adbc.InfoCode{adbc.InfoVendorName})
	if err != nil {
		t.Fatal(err)
	}
	defer info.Release()
	if !info.Next() || !strings.Contains(info.RecordBatch().Column(1).ValueStr(0), "finlake") {
		t.Fatalf("vendor name missing")
	}
}

func TestBearerTokensAndRoles(t *testing.T) {
	l := newTestLake(t)
	l.createTx(t, "transactions")
	r := startServer(t, l, func(c *flight.Config) {
		c.Auth = &flight.Auth{ReaderToken: "reader-secret", AdminToken: "admin-secret"}
	})
	anon := dial(t, r.Addr(), nil)
	if _, _, err := anon.query("SELECT 1"); adbcStatus(err) != adbc.StatusUnauthenticated {
		t.Fatalf("no token: %v", err)
	}
	wrong := dial(t, r.Addr(), map[string]string{"adbc.flight.sql.authorization_header": "Bearer nope"})
	if _, _, err := wrong.query("SELECT 1"); adbcStatus(err) != adbc.StatusUnauthenticated {
		t.Fatalf("wrong token: %v", err)
	}
	reader := dial(t, r.Addr(), map[string]string{"adbc.flight.sql.authorization_header": "Bearer reader-secret"})
	if got := reader.one("SELECT count(*) FROM transactions"); got != "0" {
		t.Fatalf("reader: %s", got)
	}
	if err := reader.exec("ALTER TABLE lake.transactions ADD COLUMN x INT"); adbcStatus(err) != adbc.StatusUnauthorized || !strings.Contains(err.Error(), "admin") {
		t.Fatalf("reader ALTER: %v", err)
	}
	admin := dial(t, r.Addr(), map[string]string{"adbc.flight.sql.authorization_header": "Bearer admin-secret"})
	if err := admin.exec("ALTER TABLE lake.transactions ADD COLUMN x INT"); err != nil {
		t.Fatalf("admin ALTER: %v", err)
	}
	_, sc, err := reader.query("SELECT * FROM transactions")
	if err != nil || !sc.HasField("x") {
		t.Fatalf("after ALTER: %v %v", sc, err)
	}
}

func TestBasicAuthOverTLS(t *testing.T) {
	l := newTestLake(t)
	cert, key := selfSigned(t)
	r := startServer(t, l, func(c *flight.Config) {
		c.TLSCert, c.TLSKey = cert, key
		c.Auth = &flight.Auth{Users: []flight.BasicUser{{User: "ana", Password: "s3cret", Role: flight.RoleReader}}}
	})
	pem, _ := os.ReadFile(cert)
	opts := func(user, pass string) map[string]string {
		return map[string]string{adbc.OptionKeyURI: "grpc+tls://" + r.Addr(), adbc.OptionKeyUsername: user, adbc.OptionKeyPassword: pass,
			"adbc.flight.sql.client_option.tls_root_certs": string(pem)}
	}
	good := dial(t, r.Addr(), opts("ana", "s3cret"))
	if got := good.one("SELECT 7"); got != "7" {
		t.Fatalf("basic auth over TLS: %s", got)
	}
	if err := good.exec("ALTER TABLE lake.transactions ADD COLUMN y INT"); adbcStatus(err) != adbc.StatusUnauthorized {
		t.Fatalf("reader user ALTER: %v", err)
	}
}

func TestWithoutAuthOnlyLoopbackIsAdmin(t *testing.T) {
	// The loopback rule itself: a non-loopback peer is a reader.
	if role := flight.RoleForPeer(&net.TCPAddr{IP: net.ParseIP("192.168.1.20"), Port: 5000}); role != flight.RoleReader {
		t.Fatalf("remote peer role %s", role)
	}
	if role := flight.RoleForPeer(&net.TCPAddr{IP: net.ParseIP("::1"), Port: 5000}); role != flight.RoleAdmin {
		t.Fatalf("loopback peer role %s", role)
	}
}

func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

var _ = arrow.Null

func TestTheRealLakeTablesAreServedWithTheirColumns(t *testing.T) {
	l := newTestLake(t)
	if err := lake.EnsureTables(context.Background(), l.cat); err != nil {
		t.Fatal(err)
	}
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	for _, def := range lake.Tables() {
		_, sc, err := c.query("SELECT * FROM lake." + def.Name)
		if err != nil {
			t.Fatalf("lake.%s: %v", def.Name, err)
		}
		tbl, err := l.cat.LoadTable(context.Background(), lake.Ident(def.Name))
		if err != nil {
			t.Fatal(err)
		}
		if sc.NumFields() != len(tbl.Schema().Fields()) {
			t.Errorf("lake.%s: %d columns served, the Iceberg schema has %d", def.Name, sc.NumFields(), len(tbl.Schema().Fields()))
		}
	}
}

func TestRequiredColumnsAreNotNullableWhereTheResultProjectsTheTable(t *testing.T) {
	l := newTestLake(t) // txSchema: every column but currency is required
	l.createTx(t, "transactions")
	l.appendRows(t, "transactions", makeRows("a", 3, day1))
	r := startServer(t, l, nil)
	c := dial(t, r.Addr(), nil)
	nullable := func(sc *arrow.Schema) string {
		var b strings.Builder
		for _, f := range sc.Fields() {
			fmt.Fprintf(&b, "%s:%v ", f.Name, f.Nullable)
		}
		return strings.TrimSpace(b.String())
	}
	for sql, want := range map[string]string{
		"SELECT * FROM lake.transactions": "transaction_id:false timestamp:false account_id:false amount:false currency:true",
		"SELECT DISTINCT currency, t.amount AS a, \"account_id\" FROM transactions t WHERE amount > 0 ORDER BY 1 LIMIT 2": "currency:true a:false account_id:false",
		"SELECT amount + 1 AS amount FROM lake.transactions":                                                              "amount:true",
		"SELECT b.amount FROM lake.transactions a LEFT JOIN lake.transactions b ON false":                                 "amount:true",
		"SELECT amount FROM lake.transactions UNION ALL SELECT NULL":                                                      "amount:true",
	} {
		rows, sc, err := c.query(sql)
		if err != nil || len(rows) == 0 {
			t.Errorf("%s: %v (%d rows)", sql, err, len(rows))
			continue
		}
		if got := nullable(sc); got != want {
			t.Errorf("%s: nullability %s, want %s", sql, got, want)
		}
	}
	ns := "lake"
	sc, err := c.conn.GetTableSchema(context.Background(), nil, &ns, "transactions")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := nullable(sc), "transaction_id:false timestamp:false account_id:false amount:false currency:true"; got != want {
		t.Errorf("GetTableSchema nullability %s, want %s", got, want)
	}
}
