/*
 * Word lists for the generator (see gen_names.h).  The people-related lists
 * come from the public v2 users sample (../shared/data/pozytywka-v2-sample).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_names.h"
#include "gen_rng.h"
#include "../core/genres.h"

const char *const sk_first_names[] = {
    "Ada", "Adam", "Adrian", "Adrianna", "Agnieszka", "Albert", "Aleks",
    "Aleksander", "Alex", "Anastazja", "Andrzej", "Angelika", "Aniela",
    "Anita", "Anna", "Antoni", "Apolonia", "Arkadiusz", "Aurelia", "Bartek",
    "Bianka", "Blanka", "Błażej", "Cezary", "Cyprian", "Dagmara", "Dariusz",
    "Dawid", "Dominik", "Dorota", "Eliza", "Elżbieta", "Emil", "Ernest",
    "Ewa", "Ewelina", "Fabian", "Filip", "Franciszek", "Fryderyk", "Gaja",
    "Gustaw", "Hubert", "Ida", "Ignacy", "Igor", "Inga", "Jacek", "Jakub",
    "Jan", "Janina", "Jeremi", "Jerzy", "Julianna", "Julita", "Justyna",
    "Józef", "Jędrzej", "Kacper", "Kaja", "Kalina", "Kamil", "Kamila",
    "Karina", "Karol", "Kazimierz", "Klara", "Kornel", "Kornelia", "Krystyna",
    "Krzysztof", "Leonard", "Lidia", "Liwia", "Maciej", "Maks", "Maksymilian",
    "Malwina", "Marcel", "Marcelina", "Marek", "Marianna", "Marika",
    "Mariusz", "Mateusz", "Maurycy", "Melania", "Michał", "Mieszko",
    "Mikołaj", "Monika", "Natan", "Nataniel", "Natasza", "Nela", "Nicole",
    "Norbert", "Olaf", "Olga", "Olgierd", "Oliwier", "Oskar", "Patryk",
    "Paweł", "Piotr", "Radosław", "Robert", "Roksana", "Rozalia", "Ryszard",
    "Róża", "Sandra", "Sara", "Sonia", "Stanisław", "Stefan", "Sylwia",
    "Szymon", "Tadeusz", "Tobiasz", "Tola", "Tomasz", "Urszula", "Wiktor",
    "Witold", "Wojciech", "Łukasz",
};
const size_t sk_n_first_names =
    sizeof(sk_first_names) / sizeof(sk_first_names[0]);


const char *const sk_last_names[] = {
    "Albin", "Ambrożewicz", "Andrukiewicz", "Andziak", "Anioła", "Antoń",
    "Babij", "Bachanek", "Balik", "Barej", "Barteczko", "Bartela",
    "Bartkowicz", "Bartoszak", "Basa", "Basaj", "Baszak", "Bałazy", "Bejma",
    "Bela", "Bełz", "Bełza", "Beśka", "Białous", "Bieszke", "Bilewicz",
    "Bisaga", "Bittner", "Bluszcz", "Boba", "Bobrowicz", "Bochnak", "Bociek",
    "Boguś", "Bohdanowicz", "Borak", "Borkiewicz", "Borysiak", "Bosek",
    "Boś", "Bracha", "Brachman", "Brańka", "Broniek", "Bronka", "Brudny",
    "Bruś", "Bryczek", "Bryda", "Budzeń", "Bugiel", "Bugno", "Buksa",
    "Bulanda", "Burchardt", "Burnat", "Buława", "Byzdra", "Bąbol",
    "Bąkiewicz", "Błażejczak", "Cebulak", "Celuch", "Chachuła",
    "Chalimoniuk", "Cherek", "Chojak", "Chwedczuk", "Ciak", "Ciaś", "Cibor",
    "Ciereszko", "Cimoch", "Citko", "Cofała", "Cydzik", "Cyman", "Cywka",
    "Czerkies", "Czerner", "Czerniec", "Czochara", "Czosnyka", "Czuryło",
    "Danilczuk", "Deluga", "Demiańczuk", "Dmoch", "Domińczak", "Doruch",
    "Drewniok", "Drobot", "Droździel", "Drygała", "Dudała", "Dudkowiak",
    "Dukat", "Durma", "Dybał", "Dyda", "Dydo", "Dyjach", "Dylak", "Dyrek",
    "Dytrych", "Dziedzina", "Dzikiewicz", "Dziurla", "Dzwonnik", "Dąbroś",
    "Dębosz", "Długajczyk", "Engler", "Fac", "Faryna", "Fechner", "Ficoń",
    "Fierek", "Fik", "Filek", "Fita", "Fitrzyk", "Flisiak", "Fojt", "Franik",
    "Fraszczyk", "Fraś", "Freitag", "Frelich", "Frycz", "Frączkiewicz",
    "Fugiel", "Fulara", "Furgał", "Futyma", "Gajzler", "Galuba", "Garncarz",
    "Gemza", "Gierach", "Gierasimiuk", "Gieroń", "Gill", "Glapiak", "Gogacz",
    "Gogół", "Golonko", "Gonet", "Gorgol", "Gortat", "Gosek", "Goska",
    "Goworek", "Graban", "Graboń", "Graboś", "Gral", "Gregorowicz", "Gryta",
    "Grzelec", "Gula", "Guźniczak", "Gwizdek", "Gąszczak", "Głowienka",
    "Hamera", "Hanas", "Hartman", "Hałka", "Heczko", "Hein", "Hejduk",
    "Herok", "Iciek", "Ignatiuk", "Iwanow", "Jaje", "Jajko", "Jakubaszek",
    "Jambor", "Janisz", "Januszewicz", "Jaracz", "Jaremko", "Jarka",
    "Jarmużek", "Jaszczyszyn", "Jonak", "Jonczyk", "Jop", "Jurczuk",
    "Juśkiewicz", "Jędrak", "Jędraszek", "Jędruszczak", "Kacperczyk",
    "Kalinka", "Kalisiak", "Kalota", "Kanik", "Kapinos", "Kapral",
    "Karczmarek", "Karpiel", "Kazberuk", "Kazior", "Kałwak", "Kiepas",
    "Kiepura", "Kiełbus", "Kijanka", "Kiszczak", "Klatka", "Kleban",
    "Kleina", "Klos", "Klucznik", "Klęczar", "Kmak", "Kobak", "Kolanek",
    "Kolarczyk", "Kolman", "Komander", "Kominiak", "Konat", "Koniecko",
    "Kopała", "Kopij", "Koral", "Korda", "Kordys", "Kornek", "Kosiec",
    "Kostro", "Koterba", "Kott", "Kowara", "Kozaczuk", "Kozon", "Koćwin",
    "Kołaczek", "Kołaczyk", "Kołodziejak", "Kołpak", "Krefta", "Krochmal",
    "Kryszkiewicz", "Krywult", "Krzyśków", "Kręcichwost", "Kuba",
    "Kubowicz", "Kuffel", "Kujda", "Kukawka", "Kulisz", "Kulma", "Kumorek",
    "Kunda", "Kunysz", "Kurant", "Kuropatwa", "Kuryś", "Kurz", "Kurzac",
    "Kurzyna", "Kus", "Kusztal", "Kutnik", "Kuświk", "Kwak", "Kwasek", "Kyc",
    "Kęsek", "Kłosiewicz", "Kłósek", "Labocha", "Labus", "Lalak",
    "Lament", "Langier", "Latek", "Lejk", "Lemanowicz", "Leoniak", "Lesik",
    "Leszczak", "Leszkiewicz", "Linda", "Lindner", "Linke", "Lipok",
    "Listwan", "Litwinowicz", "Litwińczuk", "Lorenz", "Ludwisiak", "Machoń",
    "Madzia", "Magier", "Majnusz", "Majtczak", "Maksym", "Makulec",
    "Maligłówka", "Malon", "Maraszek", "Martyn", "Masny", "Matacz",
    "Matulka", "Matus", "Matyjaszek", "Matyka", "Matyszczak", "Maćków",
    "Michalkiewicz", "Mieloch", "Mijas", "Mik", "Mikusek", "Milcarz",
    "Milewczyk", "Mirga", "Mirocha", "Mitera", "Mitoraj", "Miśko", "Molak",
    "Molka", "Monkiewicz", "Morawiak", "Mordak", "Morek", "Mosur", "Mroczko",
    "Mszyca", "Muniak", "Myrcik", "Myszk", "Mytnik", "Młotek", "Naczk",
    "Nalewajek", "Natanek", "Nazarewicz", "Nazarko", "Nałęcz", "Nehring",
    "Nesterowicz", "Nicewicz", "Nickel", "Niechciał", "Nieradzik", "Nieroda",
    "Nieścioruk", "Nojman", "Nurek", "Ochal", "Ochał", "Ochota", "Oczko",
    "Ograbek", "Oleszczak", "Olko", "Opoka", "Osman", "Ostafin", "Ostapczuk",
    "Ostręga", "Oślizło", "Pabiś", "Pachla", "Palica", "Palonek", "Palus",
    "Panasewicz", "Panuś", "Pasieczna", "Pawełko", "Pawlonka", "Pawlos",
    "Paździora", "Pela", "Pera", "Piaseczna", "Picheta", "Piechna",
    "Piestrzeniewicz", "Pietrewicz", "Pilich", "Pitura", "Piwowarek",
    "Plaskota", "Pleban", "Plebanek", "Pochopień", "Pochroń", "Pociask",
    "Podleśna", "Polewka", "Pompa", "Popielarczyk", "Porzucek", "Postawa",
    "Posłuszna", "Potoczek", "Potęga", "Powała", "Preś", "Prokopczuk",
    "Prokopczyk", "Przeklasa", "Przewoźniak", "Ptok", "Pułka", "Pyc",
    "Pyszny", "Pytlarz", "Pyzel", "Płocharczyk", "Raźniak", "Reimann",
    "Reiter", "Rej", "Rochowiak", "Romejko", "Rompa", "Rorat", "Roszkiewicz",
    "Rubaj", "Ruchała", "Rychel", "Ryczko", "Rysz", "Ryszkiewicz", "Rębiś",
    "Sacharczuk", "Sadowy", "Sajnóg", "Sakwa", "Samiec", "Samol", "Samoraj",
    "Seidel", "Semenowicz", "Semik", "Sereda", "Siarkiewicz", "Siembab",
    "Siemieniec", "Simon", "Sip", "Siudek", "Skałka", "Skonieczka",
    "Skrobek", "Smoczyk", "Smykała", "Sobisz", "Solarczyk", "Sołtysek",
    "Sporysz", "Spychaj", "Stanisławczyk", "Stanisławek", "Starostka",
    "Starościak", "Startek", "Starzak", "Staś", "Stoltmann", "Strama",
    "Strzępek", "Stupak", "Such", "Sus", "Suszko", "Swacha", "Swaczyna",
    "Sydor", "Sypek", "Szabla", "Szajek", "Szczap", "Szczot", "Szemraj",
    "Szlęk", "Szmaj", "Szmajda", "Szoka", "Szott", "Szpila", "Szramka",
    "Sztuba", "Szumiec", "Szwaja", "Szwiec", "Szyba", "Szyda", "Szyja",
    "Szymańczak", "Szłapa", "Szłapka", "Sładek", "Sławik", "Słupek",
    "Słyk", "Tabak", "Tabisz", "Tarach", "Tatarczyk", "Terka", "Toborek",
    "Toma", "Tomaszkiewicz", "Torbus", "Trojanowicz", "Turoń", "Twardzik",
    "Tywoniuk", "Ulewicz", "Uliczka", "Uroda", "Utrata", "Waleczek",
    "Walocha", "Waloszczyk", "Waraksa", "Warych", "Wawak", "Wawrzonek",
    "Wawrzyk", "Wawrzynek", "Wawrzyńczyk", "Wendt", "Wicha", "Wichary",
    "Widuch", "Wielgat", "Wijata", "Wika", "Wikło", "Wincenciak", "Wisz",
    "Witka", "Wlazły", "Wojciech", "Wojewodzic", "Wojtalik", "Wons",
    "Woroch", "Woszczak", "Wydrych", "Wylegała", "Wyrwał", "Wysota",
    "Wywiał", "Wójs", "Węgrzynek", "Zacharewicz", "Zackiewicz",
    "Zagożdżon", "Zajko", "Zander", "Zaranek", "Zasępa", "Zawiasa",
    "Zbroja", "Zbroszczyk", "Zbrzeźniak", "Zdancewicz", "Zdonek", "Zemanek",
    "Ziemak", "Zimoląg", "Zmuda", "Związek", "Zysk", "Łachacz", "Łacina",
    "Łaszcz", "Łokietek", "Łosiewicz", "Łudzik", "Łukowiak", "Łusiak",
    "Łyczak", "Łój", "Ślebioda", "Śliz", "Ślęczka", "Świtaj",
    "Święs", "Żabierek", "Żal", "Żelazo", "Żuchowicz", "Żybura",
};
const size_t sk_n_last_names =
    sizeof(sk_last_names) / sizeof(sk_last_names[0]);


const char *const sk_cities[] = {
    "Augustów", "Bartoszyce", "Bełchatów", "Biała Podlaska", "Białogard",
    "Białystok", "Bielawa", "Bielsk Podlaski", "Bielsko-Biała", "Biłgoraj",
    "Bochnia", "Bolesławiec", "Brodnica", "Brzeg", "Bydgoszcz", "Bytom",
    "Będzin", "Chełm", "Chojnice", "Chorzów", "Chrzanów", "Ciechanów",
    "Cieszyn", "Czechowice-Dziedzice", "Czeladź", "Czerwionka-Leszczyny",
    "Częstochowa", "Dzierżoniów", "Dąbrowa Górnicza", "Dębica",
    "Elbląg", "Ełk", "Gdańsk", "Gdynia", "Giżycko", "Gliwice", "Gniezno",
    "Goleniów", "Gorlice", "Gorzów Wielkopolski", "Grodzisk Mazowiecki",
    "Grudziądz", "Głogów", "Inowrocław", "Iława", "Jarocin", "Jarosław",
    "Jastrzębie-Zdrój", "Jasło", "Jawor", "Jaworzno", "Jelenia Góra",
    "Kalisz", "Katowice", "Kielce", "Kluczbork", "Knurów", "Konin",
    "Koszalin", "Koło", "Kołobrzeg", "Kościan", "Kościerzyna", "Kraków",
    "Kraśnik", "Krosno", "Krotoszyn", "Kutno", "Kwidzyn",
    "Kędzierzyn-Koźle", "Kętrzyn", "Kłodzko", "Legionowo", "Legnica",
    "Leszno", "Lubartów", "Lubin", "Lublin", "Lubliniec", "Luboń",
    "Lębork", "Malbork", "Marki", "Mielec", "Mikołów", "Mińsk Mazowiecki",
    "Myszków", "Mysłowice", "Mława", "Nowa Ruda", "Nowa Sól",
    "Nowy Dwór Mazowiecki", "Nowy Sącz", "Nowy Targ", "Nysa", "Oleśnica",
    "Olkusz", "Olsztyn", "Opole", "Ostrowiec Świętokrzyski", "Ostrołęka",
    "Ostróda", "Ostrów Mazowiecka", "Ostrów Wielkopolski", "Otwock",
    "Oława", "Oświęcim", "Pabianice", "Piaseczno", "Piastów",
    "Piekary Śląskie", "Piotrków Trybunalski", "Piła", "Police",
    "Polkowice", "Poznań", "Pruszcz Gdański", "Pruszków", "Przemyśl",
    "Pszczyna", "Puławy", "Płock", "Płońsk", "Racibórz", "Radom",
    "Radomsko", "Reda", "Ruda Śląska", "Rumia", "Rybnik", "Rzeszów",
    "Sandomierz", "Sanok", "Siedlce", "Siemianowice Śląskie", "Sieradz",
    "Skarżysko-Kamienna", "Skawina", "Skierniewice", "Sochaczew", "Sopot",
    "Sosnowiec", "Stalowa Wola", "Starachowice", "Stargard Szczeciński",
    "Starogard Gdański", "Suwałki", "Swarzędz", "Szczecin", "Szczecinek",
    "Szczytno", "Słupsk", "Tarnobrzeg", "Tarnowskie Góry", "Tarnów",
    "Tczew", "Tomaszów Mazowiecki", "Toruń", "Turek", "Tychy", "Warszawa",
    "Wałbrzych", "Wałcz", "Wejherowo", "Wieluń", "Wodzisław Śląski",
    "Wołomin", "Wrocław", "Września", "Wyszków", "Wągrowiec",
    "Włocławek", "Zabrze", "Zakopane", "Zambrów", "Zamość", "Zawiercie",
    "Zduńska Wola", "Zgierz", "Zgorzelec", "Zielona Góra", "Ząbki",
    "Łaziska Górne", "Łomża", "Łowicz", "Łuków", "Łódź", "Śrem",
    "Środa Wielkopolska", "Świdnica", "Świdnik", "Świebodzice",
    "Świecie", "Świnoujście", "Świętochłowice", "Żagań", "Żary",
    "Żory", "Żyrardów", "Żywiec",
};
const size_t sk_n_cities =
    sizeof(sk_cities) / sizeof(sk_cities[0]);


const char *const sk_streets[] = {
    "Agrestowa", "Akacjowa", "Andersa", "Armii Krajowej", "Asnyka",
    "Azaliowa", "Baczynskiego", "Bankowa", "Batalionów Chłopskich",
    "Bałtycka", "Bema", "Bociania", "Boczna", "Bolesława Chrobrego",
    "Bolesława Krzywoustego", "Borowa", "Borówkowa", "Broniewskiego",
    "Browarna", "Brzechwy", "Brzoskwiniowa", "Brzozowa", "Bukowa",
    "Bursztynowa", "Bydgoska", "Błękitna", "Cedrowa", "Cegielniana",
    "Ceglana", "Chabrowa", "Chełmońskiego", "Chmielna", "Chopina", "Ciasna",
    "Cicha", "Cisowa", "Cmentarna", "Cyprysowa", "Czarnieckiego",
    "Czereśniowa", "Częstochowska", "Daleka", "Daszyńskiego", "Diamentowa",
    "Dobra", "Dojazdowa", "Dolna", "Drzymały", "Dworcowa", "Dworska",
    "Działkowa", "Dąbrowskiego", "Dąbrowskiej", "Dębowa", "Długa",
    "Długosza", "Fabryczna", "Fiołkowa", "Floriana", "Fredry", "Gajowa",
    "Gałczynskiego", "Gdańska", "Glówna", "Gołębia", "Grabowa",
    "Graniczna", "Grottgera", "Grunwaldzka", "Grzybowa", "Górna",
    "Górnicza", "Górska", "Głogowa", "Głowackiego", "Hallera", "Handlowa",
    "Harcerska", "Hutnicza", "Irysowa", "Jabłoniowa", "Jadwigi",
    "Jagiellońska", "Jagodowa", "Jana", "Jana III Sobieskiego",
    "Jana Pawła II", "Jana Sobieskiego", "Jarzębinowa", "Jaskółcza",
    "Jasna", "Jastrzębia", "Jaworowa", "Jałowcowa", "Jaśminowa",
    "Jesienna", "Jesionowa", "Jeziorna", "Jeżynowa", "Jodłowa", "Kalinowa",
    "Kaliska", "Kamienna", "Kasprowicza", "Kasztanowa", "Kaszubska",
    "Kazimierza Wielkiego", "Kielecka", "Kilińskiego", "Klasztorna",
    "Klonowa", "Kochanowskiego", "Kolejowa", "Kolonia", "Kolorowa",
    "Konarskiego", "Konopnickiej", "Konstytucji 3 Maja", "Konwaliowa",
    "Kopernika", "Koralowa", "Korczaka", "Korfantego", "Kossaka",
    "Kosynierów", "Kowalska", "Kołłątaja", "Kościelna", "Kościuszki",
    "Krakowska", "Krasickiego", "Krasińskiego", "Kraszewskiego", "Krańcowa",
    "Kreta", "Krokusowa", "Krucza", "Kruczkowskiego", "Krzywa", "Królewska",
    "Krótka", "Księżycowa", "Kusocińskiego", "Kwiatowa", "Lawendowa",
    "Lazurowa", "Lelewela", "Leszczynowa", "Letnia", "Letniskowa", "Leśna",
    "Liliowa", "Lipca", "Lipowa", "Lisia", "Listopada", "Lotnicza",
    "Lubelska", "Ludowa", "Lwowska", "Maczka", "Magnoliowa", "Maja", "Majowa",
    "Makowa", "Makuszyńskiego", "Malczewskiego", "Malinowa", "Matejki",
    "Mazowiecka", "Mazurska", "Mała", "Miarki", "Mickiewicza", "Mieszka I",
    "Miodowa", "Miła", "Miłosza", "Modrzewiowa", "Mokra", "Moniuszki",
    "Morcinka", "Morelowa", "Morska", "Mostowa", "Myśliwska", "Młynarska",
    "Młyńska", "Nadbrzeżna", "Nadrzeczna", "Narcyzowa", "Narutowicza",
    "Nałkowskiej", "Niecała", "Niepodległości", "Norwida", "Nowa",
    "Nowowiejska", "Odrzańska", "Ogrodowa", "Okrzei", "Okrężna",
    "Okulickiego", "Olchowa", "Opolska", "Orkana", "Orla", "Orzechowa",
    "Orzeszkowej", "Osiedlowa", "Owocowa", "Paderewskiego", "Parkowa",
    "Partyzantów", "Pałacowa", "Perłowa", "Piaskowa", "Piastowska",
    "Piekarska", "Piwna", "Piękna", "Piłsudskiego", "Plater", "Plażowa",
    "Pocztowa", "Podgórna", "Podleśna", "Podmiejska", "Podwale", "Pogodna",
    "Polna", "Pomorska", "Poniatowskiego", "Popiełuszki", "Poprzeczna",
    "Porzeczkowa", "Powstańców", "Powstańców Wielkopolskich",
    "Powstańców Śląskich", "Poziomkowa", "Poznańska", "Południowa",
    "Promienna", "Prosta", "Prusa", "Przechodnia", "Przemysłowa", "Pszenna",
    "Ptasia", "Pułaskiego", "Północna", "Radosna", "Rajska", "Rataja",
    "Reja", "Rejtana", "Reymonta", "Robotnicza", "Rolna", "Rolnicza",
    "Rubinowa", "Rumiankowa", "Rybacka", "Rycerska", "Rynek", "Rzeczna",
    "Rzemieślnicza", "Rózana", "Sadowa", "Sarnia", "Sawickiej",
    "Sienkiewicza", "Sikorskiego", "Skargi", "Skośna", "Skrajna",
    "Składowa", "Skłodowskiej-Curie", "Sokola", "Solidarnosci", "Sosnowa",
    "Sowia", "Spacerowa", "Spokojna", "Sportowa", "Spółdzielcza", "Srebrna",
    "Staffa", "Starowiejska", "Staszica", "Stawowa", "Stefana Batorego",
    "Stolarska", "Storczykowa", "Strażacka", "Stroma", "Strumykowa",
    "Strzelecka", "Stycznia", "Sucharskiego", "Swierkowa", "Sybiraków",
    "Szafirowa", "Szarych Szeregów", "Szczęśliwa", "Szeroka", "Szewska",
    "Szkolna", "Szmaragdowa", "Szpitalna", "Szymanowskiego", "Słoneczna",
    "Słonecznikowa", "Słowackiego", "Słowianska", "Słowicza", "Targowa",
    "Tartaczna", "Topolowa", "Torowa", "Toruńska", "Towarowa", "Traugutta",
    "Truskawkowa", "Tulipanowa", "Turkusowa", "Turystyczna", "Tuwima",
    "Tylna", "Tysiąclecia", "Tęczowa", "Urocza", "Warszawska",
    "Waryńskiego", "Wałowa", "Wczasowa", "Wesoła", "Wiatraczna", "Widok",
    "Widokowa", "Wiejska", "Wieniawskiego", "Wierzbowa", "Wiklinowa",
    "Wilcza", "Willowa", "Wiosenna", "Witosa", "Wiązowa", "Wiślana",
    "Wiśniowa", "Wodna", "Wojciecha", "Wojska Polskiego", "Wolności",
    "Wrocławska", "Wrzosowa", "Wróblewskiego", "Wschodnia", "Wspólna",
    "Wybickiego", "Wypoczynkowa", "Wysoka", "Wyspiańskiego", "Wyszyńskiego",
    "Wyzwolenia", "Wąska", "Władysława Jagiełły",
    "Władysława Łokietka", "Zachodnia", "Zacisze", "Zaciszna", "Zakole",
    "Zakątek", "Zamkowa", "Zapolskiej", "Zaułek", "Zbożowa", "Zdrojowa",
    "Zielna", "Zielona", "Zwycięstwa", "Złota", "Łabędzia", "Łanowa",
    "Łączna", "Łąkowa", "Ściegiennego", "Śląska", "Średnia",
    "Środkowa", "Świerczewskiego", "Źródlana", "Żabia", "Żeglarska",
    "Żeromskiego", "Żurawia", "Żwirki i Wigury", "Żwirowa", "Żytnia",
};
const size_t sk_n_streets =
    sizeof(sk_streets) / sizeof(sk_streets[0]);

const char *const sk_words[] = {
    "love", "night", "heart", "fire", "dance", "dream", "summer", "rain",
    "light", "girl", "boy", "baby", "home", "road", "river", "city", "star",
    "moon", "sun", "sky", "time", "world", "life", "soul", "song", "blue",
    "red", "gold", "black", "white", "wild", "young", "free", "lost", "crazy",
    "sweet", "little", "last", "first", "broken", "golden", "electric",
    "midnight", "forever", "again", "tonight", "tomorrow", "yesterday",
    "away", "back", "down", "up", "inside", "outside", "alone", "together",
    "runaway", "paradise", "highway", "shadow", "ocean", "island", "mountain",
    "desert", "window", "mirror", "stranger", "angel", "devil", "fever",
    "memory", "echo", "thunder", "silence", "promise", "secret", "kiss",
    "touch", "wave", "storm", "winter", "autumn", "spring", "morning",
    "evening", "corazón", "noche", "amor", "vida", "fuego", "sueño",
    "cielo", "luna", "mañana", "siempre", "miłość", "serce", "noc",
    "dzień", "słońce", "wiatr", "morze", "liebe", "nacht", "herz", "leben",
};
const size_t sk_n_words =
    sizeof(sk_words) / sizeof(sk_words[0]);

const char *const sk_syllables[] = {
    "ka", "ri", "mo", "la", "ne", "to", "sa", "vi", "lo", "re", "na", "mi",
    "ko", "da", "be", "lu", "ra", "te", "si", "no", "ma", "ha", "po", "ze",
    "ki", "ta", "fa", "go", "ju", "el", "an", "or", "is", "us", "ar", "en",
    "on", "ly", "x", "dr", "st", "br", "tr", "gr", "cl", "fl",
};
const size_t sk_n_syllables =
    sizeof(sk_syllables) / sizeof(sk_syllables[0]);

static const char *const genre_prefixes[] = {
    "polish", "swedish", "german", "french", "italian", "spanish", "russian",
    "japanese", "korean", "chinese", "brazilian", "mexican", "canadian",
    "australian", "dutch", "belgian", "finnish", "norwegian", "danish",
    "turkish", "greek", "irish", "scottish", "indian", "indonesian", "thai",
    "vietnamese", "filipino", "nigerian", "czech", "slovak", "hungarian",
    "romanian", "bulgarian", "serbian", "croatian", "ukrainian", "portuguese",
    "chilean", "colombian", "peruvian", "venezuelan", "cuban", "jamaican",
    "israeli", "egyptian", "moroccan", "icelandic", "estonian", "latvian",
    "lithuanian", "austrian", "swiss", "welsh", "uk", "deep", "dark",
    "melodic", "progressive", "experimental", "vintage", "atmospheric",
    "minimal", "acoustic", "instrumental", "underground", "christian",
    "gothic", "symphonic", "nordic", "baltic", "balkan", "celtic", "andean",
    "tropical",
};
static const size_t n_prefixes =
    sizeof(genre_prefixes) / sizeof(genre_prefixes[0]);

static const char *const genre_bases[] = {
    "pop", "rock", "indie", "metal", "hip hop", "folk", "rap", "punk", "jazz",
    "house", "techno", "trap", "blues", "reggae", "hardcore", "electronic",
    "trance", "gospel", "r&b", "dance", "ska", "cumbia", "black metal",
    "death metal", "drill", "emo", "shoegaze", "post-rock", "ambient",
    "disco", "country", "worship", "beats", "lo-fi", "edm", "drum and bass",
    "dubstep", "garage", "grunge", "synthpop", "post-punk", "hardstyle",
    "opera", "classical", "piano", "chanson", "indie pop", "indie rock",
    "dream pop", "power metal", "thrash metal", "doom metal", "americana",
    "ballad", "cabaret", "choir", "underground hip hop", "alternative pop",
    "singer-songwriter",
};
static const size_t n_bases = sizeof(genre_bases) / sizeof(genre_bases[0]);

long
sk_invent_genres(char ***names, long n)
{
    size_t  total = n_prefixes * n_bases + n_bases, k = 0;
    char  **all = calloc(total, sizeof(char *));
    long    made = 0;
    sk_rng  rng;

    if (all == NULL) {
        return -1;
    }
    /* Every "prefix base" and every base alone, minus the user genres. */
    for (size_t b = 0; b < n_bases; b++) {
        for (size_t p = 0; p <= n_prefixes; p++) {
            char buf[64];
            int  len = p < n_prefixes
                       ? snprintf(buf, sizeof(buf), "%s %s", genre_prefixes[p],
                                  genre_bases[b])
                       : snprintf(buf, sizeof(buf), "%s", genre_bases[b]);

            if (sk_genre_index(buf, (size_t) len) >= 0) {
                continue;
            }
            if ((all[k] = strdup(buf)) == NULL) {
                goto nomem;
            }
            k++;
        }
    }
    /* A fixed shuffle: the same names for every seed. */
    sk_rng_seed(&rng, 0x67656e726573ULL, 1);
    for (size_t i = k; i > 1; i--) {
        size_t j = (size_t) sk_rng_below(&rng, i);
        char  *t = all[i - 1];

        all[i - 1] = all[j];
        all[j] = t;
    }
    made = n < (long) k ? n : (long) k;
    for (size_t i = (size_t) made; i < k; i++) {
        free(all[i]);
    }
    *names = all;
    return made;

nomem:
    sk_free_genres(all, (long) k);
    return -1;
}

void
sk_free_genres(char **names, long n)
{
    if (names == NULL) {
        return;
    }
    for (long i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}
