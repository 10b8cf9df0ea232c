package generator

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// AccountType is the product an account is.
type AccountType uint8

const (
	Checking AccountType = iota
	Savings
	Credit
	numAccountTypes
)

var accountTypeNames = [numAccountTypes]string{"checking", "savings", "credit"}

func (t AccountType) String() string { return accountTypeNames[t] }

// accountTypeShare: most customers hold a checking account.
var accountTypeShare = [numAccountTypes]float64{0.6, 0.15, 0.25}

// Account is a customer account that transactions are made on.
type Account struct {
	ID      string // "AC" + 7 digits
	key     []byte // ID as the Kafka record key, shared by every record of the account
	Type    AccountType
	Created time.Time // opening date (UTC midnight), before the run's start
	Home    Country
}

// accountState is what the run has seen of an account: the facts the
// new-country rule reasons about.
type accountState struct {
	txCount   int32  // valid first events emitted in this run
	countries uint16 // bit set of countries used in this run
}

// newAccounts invents n accounts with unique ids, spread over the id space so
// they look like a slice of a larger bank.
func newAccounts(rng *rand.Rand, n int, start time.Time) []Account {
	accts := make([]Account, n)
	stride := 10_000_000 / n
	if stride < 1 {
		stride = 1
	}
	earliest := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	latest := start.AddDate(0, 0, -30).Truncate(24 * time.Hour)
	span := int(latest.Sub(earliest).Hours() / 24)
	if span < 1 {
		span = 1
	}
	for i := range accts {
		num := i*stride + rng.IntN(stride)
		if stride == 1 {
			num = i
		}
		id := "AC" + pad7(num)
		accts[i] = Account{
			ID:      id,
			key:     []byte(id),
			Type:    AccountType(pickWeighted(rng, accountTypeShare[:])),
			Created: earliest.AddDate(0, 0, rng.IntN(span)),
			Home:    Country(pickWeighted(rng, countryShare[:])),
		}
	}
	return accts
}

func pad7(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 7 {
		s = "0" + s
	}
	return s
}

// pickWeighted returns an index with probability proportional to its weight.
func pickWeighted(rng *rand.Rand, w []float64) int {
	var total float64
	for _, x := range w {
		total += x
	}
	u := rng.Float64() * total
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	return len(w) - 1
}
