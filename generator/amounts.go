package generator

import (
	"math"
	"math/rand/v2"
)

// Bounds of every amount the generator writes, in USD equivalent (absolute value).
const (
	MinAmountUSD = 0.50
	MaxAmountUSD = 50_000.0
)

// TxType is the contract's transaction_type.
type TxType uint8

const (
	Purchase TxType = iota
	Withdrawal
	Transfer
	Refund
	numTxTypes
)

var txTypeNames = [numTxTypes]string{"purchase", "withdrawal", "transfer", "refund"}

func (t TxType) String() string { return txTypeNames[t] }

// txTypeShare per account type: savings accounts move money, credit cards buy.
var txTypeShare = [numAccountTypes][numTxTypes]float64{
	Checking: {0.84, 0.06, 0.06, 0.04},
	Savings:  {0.30, 0.20, 0.45, 0.05},
	Credit:   {0.90, 0.02, 0.03, 0.05},
}

// categoryShare of purchases and refunds.
var categoryShare = [numCategories]float64{
	Retail: 0.20, Dining: 0.18, Travel: 0.07, Online: 0.17, Groceries: 0.22, Entertainment: 0.08, Utilities: 0.08,
}

// logNormal is a log-normal distribution by its median and the standard
// deviation of its logarithm: card amounts are right-skewed, most small, few large.
type logNormal struct{ median, sigma float64 }

var purchaseAmount = [numCategories]logNormal{
	Retail:        {45, 0.9},
	Dining:        {28, 0.6},
	Travel:        {320, 1.0},
	Online:        {35, 1.0},
	Groceries:     {55, 0.7},
	Entertainment: {30, 0.8},
	Utilities:     {95, 0.6},
}

var (
	withdrawalAmount = logNormal{120, 0.7}
	transferAmount   = logNormal{400, 1.2}
)

// accountTypeScale: credit-card tickets run larger; savings transfers larger still.
var accountTypeScale = [numAccountTypes]float64{Checking: 1, Savings: 1.5, Credit: 1.2}

func (d logNormal) draw(rng *rand.Rand) float64 {
	return d.median * math.Exp(d.sigma*rng.NormFloat64())
}

// drawAmountUSD draws the absolute USD-equivalent amount of an ordinary transaction.
func drawAmountUSD(rng *rand.Rand, typ TxType, cat Category, at AccountType) float64 {
	var d logNormal
	switch typ {
	case Withdrawal:
		d = withdrawalAmount
	case Transfer:
		d = transferAmount
	case Refund:
		d = purchaseAmount[cat]
		d.median *= 0.8
	default:
		d = purchaseAmount[cat]
	}
	scale := accountTypeScale[at]
	for range 4 {
		if v := d.draw(rng) * scale; v >= MinAmountUSD && v <= MaxAmountUSD {
			return v
		}
	}
	return d.median
}

// toMinor converts a USD amount to minor units of cur, rounded to the nearest
// unit but kept inside [MinAmountUSD, MaxAmountUSD] after rounding. ATM
// withdrawals are whole notes: multiples of 10 (1,000 for JPY).
func toMinor(fx *FXTable, usd float64, cur Currency, notes bool) int64 {
	scale := currencyScale[cur]
	minor := int64(math.Round(usd / fx[cur] * float64(scale)))
	if notes {
		step := 10 * scale
		if cur == JPY {
			step = 1000
		}
		minor = (minor + step/2) / step * step
		if minor < 2*step {
			minor = 2 * step
		}
		for fx.USD(cur, minor) > MaxAmountUSD {
			minor -= step
		}
		return minor
	}
	for fx.USD(cur, minor) < MinAmountUSD {
		minor++
	}
	for fx.USD(cur, minor) > MaxAmountUSD {
		minor--
	}
	return minor
}

// appendAmount writes minor units as a JSON number with exactly the
// currency's decimals, from integers so no float formatting artefact appears.
func appendAmount(dst []byte, minor int64, cur Currency) []byte {
	if minor < 0 {
		dst = append(dst, '-')
		minor = -minor
	}
	scale := currencyScale[cur]
	dst = appendUint(dst, uint64(minor/scale))
	if d := currencyDecimals[cur]; d > 0 {
		dst = append(dst, '.')
		frac := minor % scale
		for p := scale / 10; p > 0; p /= 10 {
			dst = append(dst, byte('0'+frac/p))
			frac %= p
		}
	}
	return dst
}

func appendUint(dst []byte, v uint64) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}
