# Norsk bokmål.
skip-to-content = Hopp til innholdet
language = Språk
logout = Logg ut
nav-main = Hovedmeny
nav-home = Hjem
coming-later = Kommer i en senere versjon
coming-badge = snart
api-explorer = API-utforsker
save = Lagre
filter = Filtrer
next-page = Neste side
back-home = Tilbake til forsiden
form-has-errors = Rett opp feltene som er merket nedenfor.

error-title = Noe er ikke som det skal
error-unavailable = Tjenesten er utilgjengelig akkurat nå. Prøv igjen om et øyeblikk.
error-too-large = Skjemaet du sendte er for stort.
error-csrf = Skjemaet var utløpt eller kom ikke fra dette nettstedet. Gå tilbake, last inn siden på nytt og prøv igjen.
error-not-found = Denne siden finnes ikke, eller du har ikke tilgang til den.
error-forbidden = Rollene dine gir ikke tilgang til dette.
error-conflict = Noen andre har endret dette i mellomtiden. Last inn siden på nytt og prøv igjen.
error-invalid = Det du skrev inn er ikke gyldig.
error-internal = Det oppstod en uventet feil. Den er logget.

login-title = Logg inn
login-intro = Logg inn med brukernavnet og passordet ditt i Aftersales.
login-submit = Logg inn
login-invalid = Ukjent brukernavn eller feil passord.
login-rate-limited = For mange mislykkede forsøk. Vent 15 minutter og prøv igjen.

home-hello = Hei, { $name }
home-admin = Administrasjon
home-users-count = { $count ->
    [one] { $count } bruker
   *[other] { $count } brukere
}
home-orgs-count = { $count ->
    [one] { $count } organisasjon
   *[other] { $count } organisasjoner
}
home-recent-events = Siste sikkerhetshendelser
home-network = Servicenettverket ditt
home-team = Teamet ditt

field-username = Brukernavn
field-password = Passord
field-name = Navn
field-city = Sted
field-market = Marked
field-kind = Type
field-brand = Merke
field-parent = Overordnet organisasjon
field-email = E-post
field-language = Språk
field-organisation = Organisasjon
field-role = Rolle
field-roles = Roller
field-status = Status
field-current-password = Nåværende passord
field-new-password = Nytt passord
hint-username = 3–64 tegn: bokstavene a–z, sifre og . _ -
hint-password = Minst 12 tegn. En setning er lett å huske og vanskelig å gjette.

rule-required = Dette feltet må fylles ut.
rule-too-short = Dette er for kort.
rule-too-long = Dette er for langt.
rule-format = Dette har ikke riktig format.
rule-one-of = Velg en av de tilbudte verdiene.
rule-unique = Dette er allerede i bruk.
rule-unknown = Dette er ukjent eller utenfor organisasjonene dine.
rule-not-allowed = Dette er ikke tillatt.
rule-type = Dette har feil type.

role-service-advisor = Servicerådgiver
role-service-manager = Servicesjef
role-technician = Tekniker
role-valet-driver = Sjåfør
role-market-cs-manager = Kundeserviceansvarlig for markedet
role-importer-staff = Importøransatt
role-hq-analyst = Analytiker, hovedkontor
role-administrator = Administrator
role-grant = Gi en rolle
role-revoke = Fjern

cap-inbox = Innboks
cap-customers = Kunder
cap-workshop = Verksted
cap-logistics = Logistikk
cap-billing = Fakturering
cap-warranty = Garanti
cap-network = Forhandlerstandarder
cap-training = Opplæring
cap-kpis = Nøkkeltall
cap-pilots = Piloter
cap-organisations = Organisasjoner
cap-users = Personer
cap-audit = Sikkerhetslogg

kind-brand-hq = Hovedkontor for merket
kind-market-entity = Markedsselskap
kind-importer = Importør
kind-service-point = Servicepunkt
kind-customer-care-centre = Kundesenter

org-new = Ny organisasjon
org-create = Opprett organisasjon
org-children = Underordnede organisasjoner
org-people = Personer
org-no-people = Ingen har en rolle her ennå.

user-new = Ny bruker
user-create = Opprett bruker
user-enable = Aktiver kontoen
user-disable = Deaktiver kontoen
status-active = Aktiv
status-disabled = Deaktivert

audit-intro = Innlogginger, mislykkede innlogginger, rolleendringer og andre sikkerhetshendelser. Loggen kan ikke endres.
audit-all-kinds = Alle typer
audit-empty = Ingen hendelser.
audit-when = Når
audit-actor = Av
audit-subject = Gjelder
audit-ip = Adresse
audit-detail = Detaljer

profile-title = Profilen din
profile-details = Opplysningene dine
profile-saved = Endringene er lagret.
profile-password = Passord
profile-change-password = Bytt passord
profile-password-changed = Passordet er byttet. De andre øktene dine er logget ut.
profile-tokens = API-nøkler
profile-tokens-intro = En API-nøkkel lar et program handle som deg gjennom API-et, med rollene dine. Send den som «Authorization: Bearer …».
profile-token-once = Kopier den nye nøkkelen nå: den vises bare én gang.
token-name = Hva skal nøkkelen brukes til?
token-create = Opprett nøkkel
token-prefix = Begynner med
token-created = Opprettet
token-last-used = Sist brukt
token-revoked = Tilbakekalt
token-revoke = Tilbakekall

form-not-saved = Endringen ble ikke lagret:
profile-wrong-password = Dette er ikke det nåværende passordet ditt.
market-inherit = Som den overordnede organisasjonen
hint-market = Et markedsselskap trenger sitt marked; andre typer arver det overordnede med mindre du velger et.

audit-kind-login = Logget inn
audit-kind-login-failed = Mislykket innlogging
audit-kind-login-rate-limited = Innlogging sperret (for mange feil)
audit-kind-logout = Logget ut
audit-kind-user-created = Bruker opprettet
audit-kind-user-disabled = Konto deaktivert
audit-kind-user-enabled = Konto aktivert
audit-kind-password-changed = Passord byttet
audit-kind-role-granted = Rolle gitt
audit-kind-role-revoked = Rolle fjernet
audit-kind-api-token-created = API-nøkkel opprettet
audit-kind-api-token-revoked = API-nøkkel tilbakekalt
audit-kind-organisation-created = Organisasjon opprettet

user-edit-details = Opplysninger
user-set-password = Sett nytt passord
user-set-password-intro = For en kollega som har glemt sitt. Øktene deres avsluttes; gi dem det nye passordet personlig.
done-role-granted = Rollen er gitt.
done-role-revoked = Rollen er fjernet.
done-status = Kontostatusen er endret.
done-details = Opplysningene er lagret.
done-password = Det nye passordet er satt; brukerens økter er avsluttet.
rule-check-digit = Kontrollsifferet stemmer ikke: sjekk nummeret.
