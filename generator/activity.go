package generator

import "math/rand/v2"

// localActivity is the relative intensity of card activity by local hour of
// day: a trough before dawn, a lunch peak and an early-evening peak.
var localActivity = [24]float64{
	0.25, 0.12, 0.08, 0.06, 0.06, 0.10, 0.30, 0.60, 0.90, 1.10, 1.20, 1.35,
	1.60, 1.50, 1.20, 1.15, 1.25, 1.45, 1.60, 1.55, 1.30, 1.00, 0.70, 0.45,
}

// activity holds, per UTC hour, how busy each home country's customers are and
// the total intensity, normalised so the daily mean is 1: the simulated clock
// runs at rate*intensity transactions per second.
type activity struct {
	intensity [24]float64
	cum       [24][numCountries]float64 // cumulative country weights per UTC hour
}

func newActivity(accountsByCountry *[numCountries][]int32) *activity {
	a := &activity{}
	var sum float64
	for h := 0; h < 24; h++ {
		var total float64
		for c := Country(0); c < numCountries; c++ {
			w := 0.0
			if len(accountsByCountry[c]) > 0 {
				w = countryShare[c] * localActivity[((h+countryUTCOffset[c])%24+24)%24]
			}
			total += w
			a.cum[h][c] = total
		}
		a.intensity[h] = total
		sum += total
	}
	mean := sum / 24
	for h := range a.intensity {
		a.intensity[h] /= mean
	}
	return a
}

func utcHour(ms int64) int { return int((ms / 3_600_000) % 24) }

// pickCountry picks a home country in proportion to how active its customers are at this UTC hour.
func (a *activity) pickCountry(rng *rand.Rand, ms int64) Country {
	cum := &a.cum[utcHour(ms)]
	u := rng.Float64() * cum[numCountries-1]
	for c := Country(0); c < numCountries; c++ {
		if u < cum[c] {
			return c
		}
	}
	return numCountries - 1
}
