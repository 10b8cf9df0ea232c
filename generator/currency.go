package generator

import (
	"fmt"

	"github.com/finlake/finlake/contract"
	"github.com/finlake/finlake/rules"
)

// Currency is an ISO 4217 currency the generator emits. Only currencies present
// in config/fx_rates.yaml are used, so the job can convert every amount to USD.
type Currency uint8

const (
	USD Currency = iota
	EUR
	GBP
	JPY
	numCurrencies
)

var currencyCodes = [numCurrencies]string{"USD", "EUR", "GBP", "JPY"}

// currencyDecimals is the number of minor-unit digits (ISO 4217 exponent).
var currencyDecimals = [numCurrencies]int{2, 2, 2, 0}

// pow10 of each currency's exponent: minor units per major unit.
var currencyScale = [numCurrencies]int64{100, 100, 100, 1}

func (c Currency) String() string { return currencyCodes[c] }

// Decimals is the number of digits after the decimal point in this currency's amounts.
func (c Currency) Decimals() int { return currencyDecimals[c] }

// CurrencyByCode looks a currency up by its ISO code.
func CurrencyByCode(code string) (Currency, bool) {
	for i, c := range currencyCodes {
		if c == code {
			return Currency(i), true
		}
	}
	return 0, false
}

// Country is an ISO 3166 alpha-2 country where accounts live and merchants sit.
type Country uint8

const (
	US Country = iota
	GB
	JP
	DE
	FR
	ES
	IT
	NL
	IE
	numCountries
)

var countryCodes = [numCountries]string{"US", "GB", "JP", "DE", "FR", "ES", "IT", "NL", "IE"}

// countryCurrency: a transaction is settled in the currency of the country it
// happens in, so a traveller abroad pays in the local currency.
var countryCurrency = [numCountries]Currency{USD, GBP, JPY, EUR, EUR, EUR, EUR, EUR, EUR}

// countryUTCOffset is the standard-time offset in hours that drives the local
// activity curve (daylight saving is ignored: the curve is coarse anyway).
var countryUTCOffset = [numCountries]int{-5, 0, 9, 1, 1, 1, 1, 1, 0}

// countryShare is the share of accounts whose home is each country.
var countryShare = [numCountries]float64{0.35, 0.15, 0.10, 0.10, 0.10, 0.05, 0.05, 0.05, 0.05}

func (c Country) String() string { return countryCodes[c] }

// Currency is the currency transactions in this country are made in.
func (c Country) Currency() Currency { return countryCurrency[c] }

// FXTable is the USD value of one unit of each currency, as in config/fx_rates.yaml.
type FXTable [numCurrencies]float64

// DefaultFX is the table of config/fx_rates.yaml at the time of writing; amounts
// are drawn in USD and converted with it, and the high-value scenario keeps a
// wide margin above the 10,000 USD threshold so moderate rate changes in the
// file do not silence it.
var DefaultFX = FXTable{USD: 1, EUR: 1.08, GBP: 1.27, JPY: 0.0067}

// USD converts an amount in minor units of c to US dollars.
func (fx *FXTable) USD(c Currency, minor int64) float64 {
	return float64(minor) / float64(currencyScale[c]) * fx[c]
}

// LoadFX reads an FX table file (config/fx_rates.yaml) with the rules
// package's loader, so the file is validated the same way whoever reads it,
// and keeps the rates of the currencies the generator emits.
func LoadFX(path string) (FXTable, error) {
	t, err := rules.LoadFX(path)
	if err != nil {
		return FXTable{}, err
	}
	return FXFrom(t)
}

// FXFrom converts the FX record of the contract to the generator's table;
// every currency the generator emits must be present.
func FXFrom(t contract.FXTable) (FXTable, error) {
	var fx FXTable
	for i, code := range currencyCodes {
		v, err := t.USDPerUnit[code].Float64()
		if err != nil || v <= 0 {
			return FXTable{}, fmt.Errorf("FX table: usd_per_unit.%s missing or not positive; the generator emits %v", code, currencyCodes)
		}
		fx[i] = v
	}
	return fx, nil
}
