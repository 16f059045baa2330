"""Embedded vocabularies of the synthetic world: names, streets, places, email domains, interests.

Everything is a plain tuple so the generator needs no data files. Weights are relative frequencies; the
first entries of the name lists are the common ones (the generator also skews towards them).
"""

from __future__ import annotations

import unicodedata

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra",
    "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle",
    "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Dorothy", "George", "Melissa", "Timothy", "Deborah",
    "Ronald", "Stephanie", "Edward", "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia",
    "Jacob", "Kathleen", "Gary", "Amy", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna",
    "Stephen", "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon", "Helen",
    "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Alexander", "Debra", "Frank",
    "Rachel", "Patrick", "Carolyn", "Raymond", "Janet", "Jack", "Catherine", "Dennis", "Maria", "Jerry",
    "Heather", "Tyler", "Diane", "Aaron", "Ruth", "Jose", "Julie", "Adam", "Olivia", "Nathan", "Joyce",
    "Henry", "Virginia", "Douglas", "Victoria", "Zachary", "Kelly", "Peter", "Lauren", "Kyle", "Christina",
    "Ethan", "Joan", "Walter", "Evelyn", "Noah", "Judith", "Jeremy", "Megan", "Christian", "Andrea",
    "Keith", "Cheryl", "Roger", "Hannah", "Terry", "Jacqueline", "Gerald", "Martha", "Harold", "Gloria",
    "Sean", "Teresa", "Austin", "Ann", "Carl", "Sara", "Arthur", "Madison", "Lawrence", "Frances",
    "Dylan", "Kathryn", "Jesse", "Janice", "Jordan", "Jean", "Bryan", "Abigail", "Billy", "Alice",
    "Joe", "Julia", "Bruce", "Judy", "Gabriel", "Sophia", "Logan", "Grace", "Albert", "Denise",
    "Willie", "Amber", "Alan", "Doris", "Juan", "Marilyn", "Wayne", "Danielle", "Elijah", "Beverly",
    "Randy", "Isabella", "Roy", "Theresa", "Vincent", "Diana", "Ralph", "Natalie", "Eugene", "Brittany",
    "Russell", "Charlotte", "Bobby", "Marie", "Mason", "Kayla", "Philip", "Alexis", "Louis", "Lori",
    "José", "María", "Zoë", "Renée", "François", "Chloé", "Björn", "Søren", "Åsa", "Jürgen", "Łukasz",
    "Siobhán", "Seán", "Niamh", "Mary-Jane", "Jean-Luc", "Anaïs", "Inés", "Raúl", "Ángel", "Sofía",
    "Mónica", "Héctor", "Noémie", "Maëlle", "Joaquín", "Beyoncé", "Zoltán", "Agnès", "Thảo",
    "Minh", "Wei", "Priya", "Arjun", "Aisha", "Mohammed", "Fatima", "Hiroshi", "Yuki", "Ji-woo",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green",
    "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez",
    "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart",
    "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks",
    "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez",
    "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "Powell", "Jenkins",
    "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes", "Gonzales",
    "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander", "Hamilton", "Graham",
    "Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant", "Herrera", "Gibson",
    "Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens",
    "Harrison", "Fernandez", "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry",
    "Chen", "Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter",
    "Hunter", "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz", "Hunt", "Hicks",
    "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar", "Fox",
    "Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson", "Nichols", "Stephens",
    "O'Brien", "O'Connor", "D'Angelo", "McAllister", "Nguyễn", "Trần", "Lê", "Phạm", "Müller", "Schröder",
    "García", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez", "Gómez", "Fernández",
    "Núñez", "Peña", "Ibáñez", "Çelik", "Øvergaard", "Åberg", "Dvořák", "Kowalski", "Wiśniewski",
    "Lefèvre", "Dubois", "Béland", "St. James", "Van der Berg", "de la Cruz", "Al-Sayed", "Singh",
    "Kumar", "Sato", "Suzuki", "Takahashi", "Park", "Choi", "Wang", "Li", "Zhang", "Liu", "Okafor",
)  # fmt: skip

# Short forms people register with as well as their full name (a duplicate CRM record may use either).
NICKNAMES = {
    "Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Katherine": "Kate", "Michael": "Mike",
    "James": "Jim", "Richard": "Rick", "Joseph": "Joe", "Thomas": "Tom", "Jennifer": "Jen",
    "Margaret": "Peggy", "Christopher": "Chris", "Daniel": "Dan", "Matthew": "Matt", "Anthony": "Tony",
    "Alexander": "Alex", "Jonathan": "Jon", "Benjamin": "Ben", "Samuel": "Sam", "Nicholas": "Nick",
    "Rebecca": "Becky", "Patricia": "Pat", "Susan": "Sue", "Deborah": "Debbie", "Kimberly": "Kim",
    "Stephanie": "Steph", "Jacqueline": "Jackie", "Timothy": "Tim", "Gregory": "Greg", "Steven": "Steve",
    "Andrew": "Andy", "Edward": "Ed", "Kenneth": "Ken", "Ronald": "Ron", "Donald": "Don", "José": "Pepe",
    "Victoria": "Vicky", "Samantha": "Sam", "Zachary": "Zach", "Abigail": "Abby", "Isabella": "Bella",
}  # fmt: skip

# (name, state, zip3, region, metro, area codes): metro cities are where the best customers cluster.
US_CITIES = (
    ("New York", "NY", 100, "northeast", True, (212, 646, 917)),
    ("Brooklyn", "NY", 112, "northeast", True, (718, 347)),
    ("Buffalo", "NY", 142, "northeast", False, (716,)),
    ("Boston", "MA", 21, "northeast", True, (617, 857)),
    ("Worcester", "MA", 16, "northeast", False, (508,)),
    ("Philadelphia", "PA", 191, "northeast", True, (215, 267)),
    ("Pittsburgh", "PA", 152, "northeast", False, (412,)),
    ("Newark", "NJ", 71, "northeast", False, (973,)),
    ("Hartford", "CT", 61, "northeast", False, (860,)),
    ("Providence", "RI", 29, "northeast", False, (401,)),
    ("Burlington", "VT", 54, "northeast", False, (802,)),
    ("Portland", "ME", 41, "northeast", False, (207,)),
    ("Chicago", "IL", 606, "midwest", True, (312, 773)),
    ("Springfield", "IL", 627, "midwest", False, (217,)),
    ("Detroit", "MI", 482, "midwest", False, (313,)),
    ("Grand Rapids", "MI", 495, "midwest", False, (616,)),
    ("Columbus", "OH", 432, "midwest", False, (614,)),
    ("Cleveland", "OH", 441, "midwest", False, (216,)),
    ("Indianapolis", "IN", 462, "midwest", False, (317,)),
    ("Milwaukee", "WI", 532, "midwest", False, (414,)),
    ("Minneapolis", "MN", 554, "midwest", True, (612,)),
    ("St. Louis", "MO", 631, "midwest", False, (314,)),
    ("Kansas City", "MO", 641, "midwest", False, (816,)),
    ("Omaha", "NE", 681, "midwest", False, (402,)),
    ("Des Moines", "IA", 503, "midwest", False, (515,)),
    ("Fargo", "ND", 581, "midwest", False, (701,)),
    ("Atlanta", "GA", 303, "south", True, (404, 678)),
    ("Savannah", "GA", 314, "south", False, (912,)),
    ("Miami", "FL", 331, "south", True, (305, 786)),
    ("Orlando", "FL", 328, "south", False, (407,)),
    ("Tampa", "FL", 336, "south", False, (813,)),
    ("Jacksonville", "FL", 322, "south", False, (904,)),
    ("Houston", "TX", 770, "south", False, (713, 832)),
    ("Dallas", "TX", 752, "south", False, (214, 469)),
    ("Austin", "TX", 787, "south", True, (512, 737)),
    ("San Antonio", "TX", 782, "south", False, (210,)),
    ("El Paso", "TX", 799, "south", False, (915,)),
    ("Charlotte", "NC", 282, "south", False, (704, 980)),
    ("Raleigh", "NC", 276, "south", False, (919,)),
    ("Nashville", "TN", 372, "south", False, (615,)),
    ("Memphis", "TN", 381, "south", False, (901,)),
    ("New Orleans", "LA", 701, "south", False, (504,)),
    ("Birmingham", "AL", 352, "south", False, (205,)),
    ("Louisville", "KY", 402, "south", False, (502,)),
    ("Richmond", "VA", 232, "south", False, (804,)),
    ("Arlington", "VA", 222, "south", True, (703, 571)),
    ("Washington", "DC", 200, "south", True, (202,)),
    ("Baltimore", "MD", 212, "south", False, (410, 443)),
    ("Oklahoma City", "OK", 731, "south", False, (405,)),
    ("Little Rock", "AR", 722, "south", False, (501,)),
    ("Charleston", "SC", 294, "south", False, (843,)),
    ("Los Angeles", "CA", 900, "west", True, (213, 310, 323)),
    ("San Francisco", "CA", 941, "west", True, (415, 628)),
    ("San Diego", "CA", 921, "west", False, (619, 858)),
    ("San José", "CA", 951, "west", True, (408, 669)),
    ("Sacramento", "CA", 958, "west", False, (916,)),
    ("Fresno", "CA", 937, "west", False, (559,)),
    ("Seattle", "WA", 981, "west", True, (206,)),
    ("Spokane", "WA", 992, "west", False, (509,)),
    ("Portland", "OR", 972, "west", True, (503, 971)),
    ("Denver", "CO", 802, "west", True, (303, 720)),
    ("Boulder", "CO", 803, "west", False, (720,)),
    ("Phoenix", "AZ", 850, "west", False, (602, 480)),
    ("Tucson", "AZ", 857, "west", False, (520,)),
    ("Las Vegas", "NV", 891, "west", False, (702,)),
    ("Salt Lake City", "UT", 841, "west", False, (801,)),
    ("Albuquerque", "NM", 871, "west", False, (505,)),
    ("Boise", "ID", 837, "west", False, (208,)),
    ("Honolulu", "HI", 968, "west", False, (808,)),
    ("Anchorage", "AK", 995, "west", False, (907,)),
    ("Billings", "MT", 591, "west", False, (406,)),
    ("Cheyenne", "WY", 820, "west", False, (307,)),
)  # fmt: skip

US_STATE_NAMES = {
    "NY": "New York", "MA": "Massachusetts", "PA": "Pennsylvania", "NJ": "New Jersey", "CT": "Connecticut",
    "RI": "Rhode Island", "VT": "Vermont", "ME": "Maine", "IL": "Illinois", "MI": "Michigan", "OH": "Ohio",
    "IN": "Indiana", "WI": "Wisconsin", "MN": "Minnesota", "MO": "Missouri", "NE": "Nebraska", "IA": "Iowa",
    "ND": "North Dakota", "GA": "Georgia", "FL": "Florida", "TX": "Texas", "NC": "North Carolina",
    "TN": "Tennessee", "LA": "Louisiana", "AL": "Alabama", "KY": "Kentucky", "VA": "Virginia",
    "DC": "District of Columbia", "MD": "Maryland", "OK": "Oklahoma", "AR": "Arkansas",
    "SC": "South Carolina", "CA": "California", "WA": "Washington", "OR": "Oregon", "CO": "Colorado",
    "AZ": "Arizona", "NV": "Nevada", "UT": "Utah", "NM": "New Mexico", "ID": "Idaho", "HI": "Hawaii",
    "AK": "Alaska", "MT": "Montana", "WY": "Wyoming",
}  # fmt: skip

# (name, county, outward codes): British postcodes are "<outward> <digit><letter><letter>".
GB_CITIES = (
    ("London", "Greater London", ("SW1A", "EC1A", "N1", "SE1", "W1D", "E14")),
    ("Manchester", "Greater Manchester", ("M1", "M4", "M20")),
    ("Birmingham", "West Midlands", ("B1", "B15")),
    ("Leeds", "West Yorkshire", ("LS1", "LS6")),
    ("Edinburgh", "Midlothian", ("EH1", "EH3")),
    ("Bristol", "Bristol", ("BS1", "BS8")),
)  # fmt: skip
GB_STREET_SUFFIXES = ("Road", "Street", "Lane", "Close", "Gardens", "Crescent")
GB_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters Royal Mail uses in the inward code

STREET_NAMES = (
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Sunset",
    "Highland", "Lincoln", "Jefferson", "Madison", "Franklin", "Church", "Spring", "Ridge", "River",
    "Meadow", "Forest", "Willow", "Walnut", "Cherry", "Chestnut", "Birch", "Jackson", "Adams", "Center",
    "Market", "Broad", "Water", "Mill", "Union", "School", "Railroad", "Prospect", "Summit", "Valley",
    "Hillcrest", "Lakeview", "Fairview", "Woodland", "Orchard", "Dogwood", "Magnolia", "Sycamore",
    "Hickory", "Laurel", "Martin Luther King Jr", "Cesar Chavez", "Peachtree", "Mission", "Bayshore",
    "Ocean", "Canyon", "Mesa", "Aspen", "Juniper", "Santa Rosa", "El Camino", "Mockingbird", "Cypress",
    "Franklin Delano Roosevelt", "1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th",
    "12th", "14th", "Grand", "Liberty", "Independence",
)  # fmt: skip

# (full, abbreviation): written full, abbreviated or abbreviated with a dot, in any case.
STREET_SUFFIXES = (
    ("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr"), ("Lane", "Ln"),
    ("Boulevard", "Blvd"), ("Court", "Ct"), ("Place", "Pl"), ("Terrace", "Ter"), ("Parkway", "Pkwy"),
    ("Circle", "Cir"), ("Highway", "Hwy"),
)  # fmt: skip
STREET_SUFFIX_WEIGHTS = (30, 22, 14, 10, 8, 4, 4, 3, 1, 2, 1, 1)
DIRECTIONS = (("North", "N"), ("South", "S"), ("East", "E"), ("West", "W"))
# (written forms): the same unit written "Apt 4B", "Apartment 4B", "Apt. 4B", "#4B", ...
UNIT_KINDS = (("Apt", "Apartment", "Apt.", "#"), ("Unit", "Unit", "Unit", "#"), ("Suite", "Ste", "Ste.", "#"))
UNIT_KIND_WEIGHTS = (70, 18, 12)
UNIT_LETTERS = ("", "", "", "A", "B", "C", "D", "F")

# (domain, weight, ignores_plus_tags, ignores_dots): the providers' sub-addressing rules decide which
# spelling variants still reach the same mailbox (and so normalize to the same match key).
PERSONAL_EMAIL_DOMAINS = (
    ("gmail.com", 38, True, True),
    ("yahoo.com", 12, False, False),
    ("outlook.com", 8, True, False),
    ("hotmail.com", 8, True, False),
    ("icloud.com", 9, True, False),
    ("aol.com", 3, False, False),
    ("comcast.net", 3, False, False),
    ("proton.me", 2, True, False),
    ("att.net", 2, False, False),
    ("verizon.net", 2, False, False),
    ("msn.com", 2, True, False),
    ("live.com", 2, True, False),
    ("mail.com", 2, False, False),
    ("gmx.com", 2, False, False),
    ("fastmail.com", 1, True, False),
    ("me.com", 1, True, False),
    ("ymail.com", 1, False, False),
)
GB_EMAIL_DOMAINS = (
    ("gmail.com", 40, True, True),
    ("btinternet.com", 20, False, False),
    ("yahoo.co.uk", 15, False, False),
    ("hotmail.co.uk", 15, False, False),
    ("outlook.com", 10, True, False),
)
WORK_EMAIL_DOMAINS = (
    "acme-corp.com", "globex.com", "initech.com", "umbrella-inc.com", "hooli.com", "stark-industries.com",
    "wayne-enterprises.com", "soylent.co", "cyberdyne.io", "wonka-industries.com", "state.edu",
    "northwind.example",
)  # fmt: skip
PLUS_TAGS = ("news", "shop", "promo", "deals", "orders", "2024", "ads", "spam")

MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_BAND_BOUNDS = ((18, 25), (25, 35), (35, 45), (45, 55), (55, 65), (65, 90))

INTERESTS = (
    "travel", "fine_dining", "technology", "fitness", "outdoors", "parenting", "home_garden", "gaming",
    "fashion", "finance", "automotive", "cooking", "pets", "sports", "music", "deals",
)  # fmt: skip

# Latent personas. Value tiers, ages, interests and where people live depend on the persona; the first
# persona is where the best customers come from, so its members are the "lookalike group".
# value_tier weights are (low, mid, high); age weights follow AGE_BANDS; interests are probabilities.
PERSONAS = (
    {
        "name": "urban_professional",
        "weight": 15,
        "value_tier": (15, 40, 45),
        "age": (5, 35, 35, 17, 6, 2),
        "metro_boost": 4.0,
        "interests": {"travel": 0.6, "fine_dining": 0.55, "technology": 0.45, "fitness": 0.4, "fashion": 0.35,
                      "finance": 0.3, "music": 0.2},
    },
    {
        "name": "suburban_family",
        "weight": 25,
        "value_tier": (40, 48, 12),
        "age": (2, 25, 40, 25, 6, 2),
        "metro_boost": 0.8,
        "interests": {"parenting": 0.65, "home_garden": 0.5, "cooking": 0.4, "deals": 0.3, "automotive": 0.25,
                      "pets": 0.3, "sports": 0.25},
    },
    {
        "name": "student",
        "weight": 12,
        "value_tier": (70, 27, 3),
        "age": (75, 22, 2, 1, 0, 0),
        "metro_boost": 1.5,
        "interests": {"gaming": 0.55, "music": 0.55, "deals": 0.45, "technology": 0.35, "fashion": 0.3,
                      "sports": 0.25},
    },
    {
        "name": "retiree",
        "weight": 13,
        "value_tier": (40, 45, 15),
        "age": (0, 0, 1, 6, 33, 60),
        "metro_boost": 0.7,
        "interests": {"travel": 0.4, "home_garden": 0.5, "cooking": 0.35, "finance": 0.35, "pets": 0.3},
    },
    {
        "name": "outdoor_enthusiast",
        "weight": 15,
        "value_tier": (40, 45, 15),
        "age": (12, 30, 28, 18, 9, 3),
        "metro_boost": 0.6,
        "interests": {"outdoors": 0.75, "fitness": 0.5, "travel": 0.35, "automotive": 0.25, "pets": 0.3,
                      "sports": 0.35},
    },
    {
        "name": "budget_shopper",
        "weight": 20,
        "value_tier": (66, 30, 4),
        "age": (15, 25, 22, 18, 12, 8),
        "metro_boost": 0.9,
        "interests": {"deals": 0.75, "home_garden": 0.25, "cooking": 0.25, "gaming": 0.2, "fashion": 0.2},
    },
)  # fmt: skip
VALUE_TIERS = ("low", "mid", "high")
REGIONS = ("northeast", "midwest", "south", "west", "international")

# Address, order and identity words of a few other kinds.
SALES_CHANNELS = ("web", "app", "store")
SALES_CHANNEL_WEIGHTS = (60, 25, 15)
IDENTITY_EVENT_TYPES = ("login", "newsletter_click")

_SPECIAL_LETTERS = {
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "đ": "d",
    "Đ": "D",
}


def ascii_letters(name: str) -> str:
    """A name as it goes into an email address: accents dropped, lower case, letters only."""
    for letter, plain in _SPECIAL_LETTERS.items():
        name = name.replace(letter, plain)
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(char for char in decomposed if char.isascii() and char.isalpha()).lower()


def typo_variants(name: str) -> tuple[str, str, str]:
    """Three misspellings of a name, the kinds clerks make: two letters swapped, one dropped, one doubled.

    Deterministic (the generator picks among them at random), so the vocabulary needs no randomness.
    """
    if len(name) < 3:
        return (name + name[-1], name + "e", name.upper())
    middle = len(name) // 2
    swapped = name[: middle - 1] + name[middle] + name[middle - 1] + name[middle + 1 :]
    dropped = name[:middle] + name[middle + 1 :]
    doubled = name[:middle] + name[middle] + name[middle:]
    return (swapped if swapped != name else doubled + "e", dropped, doubled)
