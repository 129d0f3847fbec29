//! Where demo users come from: countries with their share of users and language, and people's
//! names that sound like each language. Data only; `users` draws from it.

/// A group of people's names that sound like one language.
pub(crate) struct NameGroup {
    /// Given names.
    pub first: &'static [&'static str],
    /// Family names.
    pub last: &'static [&'static str],
}

const ENGLISH: NameGroup = NameGroup {
    first: &["James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Grace", "Lucas", "Chloe"],
    last: &["Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Clark", "Walker", "Hughes", "Murphy", "Reed"],
};
const SPANISH: NameGroup = NameGroup {
    first: &["Sofía", "Mateo", "Valentina", "Santiago", "Camila", "Diego", "Lucía", "Javier", "Martina", "Pablo"],
    last: &["García", "Martínez", "López", "Hernández", "González", "Pérez", "Sánchez", "Ramírez", "Torres", "Ruiz"],
};
const PORTUGUESE: NameGroup = NameGroup {
    first: &["João", "Ana", "Pedro", "Beatriz", "Gabriel", "Mariana", "Rafael", "Larissa", "Thiago", "Juliana"],
    last: &["Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira", "Almeida", "Ferreira", "Rodrigues", "Lima"],
};
const GERMAN: NameGroup = NameGroup {
    first: &["Lukas", "Mia", "Jonas", "Hannah", "Felix", "Lea", "Paul", "Emilia", "Maximilian", "Lena"],
    last: &["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Koch"],
};
const FRENCH: NameGroup = NameGroup {
    first: &["Louis", "Chloé", "Hugo", "Camille", "Jules", "Léa", "Arthur", "Manon", "Gabriel", "Inès"],
    last: &["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"],
};
const ITALIAN: NameGroup = NameGroup {
    first: &["Francesco", "Giulia", "Alessandro", "Sofia", "Lorenzo", "Aurora", "Matteo", "Alice", "Andrea"],
    last: &["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco"],
};
const DUTCH: NameGroup = NameGroup {
    first: &["Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Finn", "Sophie", "Levi", "Anna"],
    last: &["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer"],
};
const SWEDISH: NameGroup = NameGroup {
    first: &["Erik", "Astrid", "Oscar", "Elsa", "William", "Maja", "Hugo", "Ebba", "Axel", "Saga"],
    last: &["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson"],
};
const POLISH: NameGroup = NameGroup {
    first: &["Jakub", "Zuzanna", "Antoni", "Julia", "Jan", "Maja", "Szymon", "Hanna", "Filip", "Lena"],
    last: &["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński"],
};
const JAPANESE: NameGroup = NameGroup {
    first: &["Haruto", "Yui", "Sota", "Hina", "Yuto", "Aoi", "Riku", "Sakura", "Ren", "Mei"],
    last: &["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi"],
};
const KOREAN: NameGroup = NameGroup {
    first: &["Min-jun", "Seo-yeon", "Ji-ho", "Ha-eun", "Do-yun", "Ji-woo", "Seo-jun", "Su-bin", "Ye-jun"],
    last: &["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim"],
};
const INDIAN: NameGroup = NameGroup {
    first: &["Aarav", "Ananya", "Vihaan", "Diya", "Arjun", "Isha", "Rohan", "Priya", "Kabir", "Saanvi"],
    last: &["Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair", "Mehta", "Das"],
};

/// A country users come from: ISO code, display name, weight among users, language, names.
pub(crate) struct Country {
    /// ISO 3166-1 alpha-2 code.
    pub code: &'static str,
    /// Name shown in "Top 10 in …".
    pub name: &'static str,
    /// Relative share of users.
    pub weight: u32,
    /// BCP 47 language of the profile.
    pub language: &'static str,
    /// Where people's names come from.
    pub names: &'static NameGroup,
}

const fn country(
    code: &'static str,
    name: &'static str,
    weight: u32,
    language: &'static str,
    names: &'static NameGroup,
) -> Country {
    Country { code, name, weight, language, names }
}

/// The countries users come from, with their weights (roughly a streaming service's audience).
pub(crate) const COUNTRIES: &[Country] = &[
    country("US", "the U.S.", 28, "en-US", &ENGLISH),
    country("GB", "the U.K.", 7, "en-GB", &ENGLISH),
    country("CA", "Canada", 4, "en-CA", &ENGLISH),
    country("AU", "Australia", 3, "en-AU", &ENGLISH),
    country("IE", "Ireland", 1, "en-IE", &ENGLISH),
    country("BR", "Brazil", 8, "pt-BR", &PORTUGUESE),
    country("PT", "Portugal", 1, "pt-PT", &PORTUGUESE),
    country("MX", "Mexico", 6, "es-MX", &SPANISH),
    country("ES", "Spain", 4, "es-ES", &SPANISH),
    country("AR", "Argentina", 2, "es-AR", &SPANISH),
    country("CO", "Colombia", 2, "es-CO", &SPANISH),
    country("DE", "Germany", 5, "de-DE", &GERMAN),
    country("AT", "Austria", 1, "de-AT", &GERMAN),
    country("FR", "France", 5, "fr-FR", &FRENCH),
    country("IT", "Italy", 3, "it-IT", &ITALIAN),
    country("NL", "the Netherlands", 2, "nl-NL", &DUTCH),
    country("SE", "Sweden", 2, "sv-SE", &SWEDISH),
    country("PL", "Poland", 2, "pl-PL", &POLISH),
    country("JP", "Japan", 5, "ja-JP", &JAPANESE),
    country("KR", "South Korea", 3, "ko-KR", &KOREAN),
    country("IN", "India", 6, "hi-IN", &INDIAN),
];
