package generator

import "math/rand/v2"

// Category is a merchant category of the contract's taxonomy.
type Category uint8

const (
	Retail Category = iota
	Dining
	Travel
	Online
	Groceries
	Entertainment
	Utilities
	numCategories
)

var categoryNames = [numCategories]string{"retail", "dining", "travel", "online", "groceries", "entertainment", "utilities"}

func (c Category) String() string { return categoryNames[c] }

// Merchant is a business that appears as merchant_name.
type Merchant struct {
	Name     string
	nameJSON []byte // the name as a JSON string literal, escaped once
	Category Category
}

// merchantNames per category: "*" lists chains found in every country, the
// other keys merchants local to one country. Withdrawals name the ATM
// operator, transfers the payment service (see DATA_DICTIONARY.md).
var merchantNames = [numCategories]map[string][]string{
	Retail: {
		"*":  {"IKEA", "Zara", "H&M", "Apple Store", "Uniqlo", "Decathlon", "Sephora", "Cardtronics ATM", "Euronet ATM"},
		"US": {"Target", "Walmart", "Best Buy", "Macy's", "Home Depot", "CVS Pharmacy"},
		"GB": {"Marks & Spencer", "John Lewis", "Boots", "Argos", "Primark"},
		"JP": {"Don Quijote", "Muji", "Yodobashi Camera", "Bic Camera"},
		"DE": {"MediaMarkt", "dm-drogerie markt", "Galeria", "Douglas"},
		"FR": {"Galeries Lafayette", "Fnac", "Printemps", "Darty"},
		"ES": {"El Corte Inglés", "Mango", "Pull&Bear"},
		"IT": {"La Rinascente", "Coin", "OVS"},
		"NL": {"HEMA", "De Bijenkorf", "Blokker"},
		"IE": {"Brown Thomas", "Dunnes Stores", "Penneys"},
	},
	Dining: {
		"*":  {"Starbucks", "McDonald's", "Burger King", "Subway", "Five Guys"},
		"US": {"Chipotle", "Joe's Diner", "Shake Shack", "Olive Garden"},
		"GB": {"Pret A Manger", "Nando's", "Wagamama", "The Red Lion"},
		"JP": {"Sukiya", "Ichiran Ramen", "Yoshinoya", "Sushiro"},
		"DE": {"Brauhaus am Markt", "Vapiano", "Café Einstein"},
		"FR": {"Bistro Lumière", "Café de Flore", "Paul Boulangerie", "Brasserie du Port"},
		"ES": {"Taberna La Bola", "100 Montaditos", "Bar Pinotxo"},
		"IT": {"Trattoria da Enzo", "Autogrill", "Pizzeria Da Michele"},
		"NL": {"Febo", "Café de Jaren", "Vlaams Friteshuis"},
		"IE": {"The Brazen Head", "Supermac's", "Bewley's Café"},
	},
	Travel: {
		"*":  {"Booking.com", "Expedia", "Marriott", "Hilton", "Hertz", "Airbnb", "Travelex ATM"},
		"US": {"Delta Air Lines", "United Airlines", "Amtrak", "Uber"},
		"GB": {"British Airways", "easyJet", "Trainline", "Premier Inn"},
		"JP": {"JR East", "Japan Airlines", "ANA", "Toyoko Inn"},
		"DE": {"Deutsche Bahn", "Lufthansa", "FlixBus"},
		"FR": {"SNCF Connect", "Air France", "Accor Hotels"},
		"ES": {"Renfe", "Iberia", "Vueling", "Meliá Hotels"},
		"IT": {"Trenitalia", "ITA Airways", "Italo Treno"},
		"NL": {"NS Reizen", "KLM", "Schiphol Parking"},
		"IE": {"Ryanair", "Aer Lingus", "Irish Rail"},
	},
	Online: {
		"*":  {"Amazon", "Netflix", "Spotify", "Steam", "Google Play", "App Store", "PayPal", "Wise Transfer", "Revolut Transfer"},
		"US": {"eBay", "Etsy", "Venmo", "Zelle Transfer"},
		"GB": {"ASOS", "Deliveroo", "Monzo Transfer"},
		"JP": {"Rakuten", "Mercari", "PayPay"},
		"DE": {"Zalando", "Otto", "N26 Transfer"},
		"FR": {"Cdiscount", "Vinted", "Lydia"},
		"ES": {"Bizum", "Wallapop"},
		"IT": {"Satispay", "Yoox"},
		"NL": {"Bol.com", "Coolblue", "Tikkie"},
		"IE": {"Littlewoods Ireland", "DoneDeal"},
	},
	Groceries: {
		"*":  {"Lidl", "Aldi", "7-Eleven"},
		"US": {"Whole Foods Market", "Trader Joe's", "Kroger", "Safeway"},
		"GB": {"Tesco", "Sainsbury's", "Waitrose", "Co-op Food"},
		"JP": {"Lawson", "FamilyMart", "Aeon", "Seijo Ishii"},
		"DE": {"Edeka", "Rewe", "Netto"},
		"FR": {"Carrefour", "Monoprix", "Franprix", "E.Leclerc"},
		"ES": {"Mercadona", "Dia", "Eroski"},
		"IT": {"Esselunga", "Coop", "Conad"},
		"NL": {"Albert Heijn", "Jumbo", "Plus"},
		"IE": {"SuperValu", "Dunnes Food", "Centra"},
	},
	Entertainment: {
		"*":  {"Ticketmaster", "Cineworld", "Disney+", "PlayStation Store"},
		"US": {"AMC Theatres", "Live Nation", "Six Flags"},
		"GB": {"Odeon", "Vue Cinemas", "National Theatre"},
		"JP": {"Toho Cinemas", "Round1", "Tokyo Disney Resort"},
		"DE": {"CinemaxX", "Eventim", "Europa-Park"},
		"FR": {"Pathé", "Musée du Louvre", "Disneyland Paris"},
		"ES": {"Cinesa", "Museo del Prado", "PortAventura"},
		"IT": {"UCI Cinemas", "Teatro alla Scala", "Musei Vaticani"},
		"NL": {"Pathé Nederland", "Rijksmuseum", "Efteling"},
		"IE": {"Omniplex", "Guinness Storehouse", "3Arena"},
	},
	Utilities: {
		"*":  {"Vodafone", "Shell Recharge"},
		"US": {"Con Edison", "Verizon", "Comcast Xfinity", "PG&E"},
		"GB": {"British Gas", "Thames Water", "BT Broadband", "Octopus Energy"},
		"JP": {"TEPCO", "NTT Docomo", "Tokyo Gas", "SoftBank"},
		"DE": {"E.ON", "Telekom", "Vattenfall"},
		"FR": {"EDF", "Orange", "Engie", "Veolia"},
		"ES": {"Iberdrola", "Movistar", "Endesa"},
		"IT": {"Enel Energia", "TIM", "Acea"},
		"NL": {"Eneco", "KPN", "Vitens"},
		"IE": {"Electric Ireland", "Eir", "Irish Water"},
	},
}

// merchantTable indexes merchants by category and country; atms lists the ATM
// operators that withdrawals name, per country.
type merchantTable struct {
	all   []Merchant
	by    [numCategories][numCountries][]int32
	atms  [numCountries][]int32
	xfers [numCountries][]int32
}

func newMerchantTable() *merchantTable {
	t := &merchantTable{}
	for cat := Category(0); cat < numCategories; cat++ {
		add := func(name string) int32 {
			t.all = append(t.all, Merchant{Name: name, nameJSON: appendJSONString(nil, name), Category: cat})
			return int32(len(t.all) - 1)
		}
		global := []int32{}
		for _, n := range merchantNames[cat]["*"] {
			global = append(global, add(n))
		}
		for c := Country(0); c < numCountries; c++ {
			idx := append([]int32{}, global...)
			for _, n := range merchantNames[cat][c.String()] {
				idx = append(idx, add(n))
			}
			t.by[cat][c] = idx
		}
	}
	for i, m := range t.all {
		for c := Country(0); c < numCountries; c++ {
			if !containsIdx(t.by[m.Category][c], int32(i)) {
				continue
			}
			if hasSuffix(m.Name, " ATM") {
				t.atms[c] = append(t.atms[c], int32(i))
			}
			if hasSuffix(m.Name, "Transfer") || m.Name == "PayPal" || m.Name == "Venmo" || m.Name == "Bizum" ||
				m.Name == "Lydia" || m.Name == "Tikkie" || m.Name == "PayPay" || m.Name == "Satispay" {
				t.xfers[c] = append(t.xfers[c], int32(i))
			}
		}
	}
	// ATMs and transfer services appear only for withdrawals and transfers.
	for cat := Category(0); cat < numCategories; cat++ {
		for c := Country(0); c < numCountries; c++ {
			kept := t.by[cat][c][:0:0]
			for _, i := range t.by[cat][c] {
				if !containsIdx(t.atms[c], i) && !containsIdx(t.xfers[c], i) {
					kept = append(kept, i)
				}
			}
			t.by[cat][c] = kept
		}
	}
	return t
}

func (t *merchantTable) pick(rng *rand.Rand, cat Category, c Country) int32 {
	l := t.by[cat][c]
	return l[rng.IntN(len(l))]
}

func containsIdx(l []int32, v int32) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }
