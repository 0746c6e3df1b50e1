# English: the reference language. Every key here must exist in nb.ftl and pt.ftl.
skip-to-content = Skip to content
language = Language
logout = Sign out
nav-main = Main navigation
nav-home = Home
coming-later = Coming in a later release
coming-badge = soon
api-explorer = API explorer
save = Save
filter = Filter
next-page = Next page
back-home = Back to the home page
form-has-errors = Please correct the fields marked below.

error-title = Something is not right
error-unavailable = The service is unavailable just now. Please try again in a moment.
error-too-large = The form you sent is too large.
error-csrf = The form had expired or did not come from this site. Go back, reload the page and try again.
error-not-found = This page does not exist, or you do not have access to it.
error-forbidden = Your roles do not allow this.
error-conflict = Someone else changed this in the meantime. Reload the page and try again.
error-invalid = The input was not valid.
error-internal = An unexpected error occurred. It has been logged.

login-title = Sign in
login-intro = Sign in with your Aftersales username and password.
login-submit = Sign in
login-invalid = Unknown username or wrong password.
login-rate-limited = Too many failed attempts. Please wait 15 minutes and try again.

home-hello = Hello, { $name }
home-admin = Administration
home-users-count = { $count ->
    [one] { $count } user
   *[other] { $count } users
}
home-orgs-count = { $count ->
    [one] { $count } organisation
   *[other] { $count } organisations
}
home-recent-events = Recent security events
home-network = Your service network
home-team = Your team

field-username = Username
field-password = Password
field-name = Name
field-city = City
field-market = Market
field-kind = Kind
field-brand = Brand
field-parent = Parent organisation
field-email = E-mail
field-language = Language
field-organisation = Organisation
field-role = Role
field-roles = Roles
field-status = Status
field-current-password = Current password
field-new-password = New password
hint-username = 3–64 characters: letters a–z, digits and . _ -
hint-password = At least 12 characters. A sentence is easy to remember and hard to guess.

rule-required = This field is required.
rule-too-short = This is too short.
rule-too-long = This is too long.
rule-format = This does not have the right format.
rule-one-of = Choose one of the offered values.
rule-unique = This is already taken.
rule-unknown = This is unknown or outside your organisations.
rule-not-allowed = This is not allowed.
rule-type = This has the wrong type.

role-service-advisor = Service advisor
role-service-manager = Service manager
role-technician = Technician
role-valet-driver = Valet driver
role-market-cs-manager = Market customer-service manager
role-importer-staff = Importer staff
role-hq-analyst = HQ analyst
role-administrator = Administrator
role-grant = Grant a role
role-revoke = Revoke

cap-inbox = Inbox
cap-customers = Customers
cap-workshop = Workshop
cap-logistics = Logistics
cap-billing = Billing
cap-warranty = Warranty
cap-network = Network standards
cap-training = Training
cap-kpis = KPIs
cap-pilots = Pilots
cap-organisations = Organisations
cap-users = People
cap-audit = Security log

kind-brand-hq = Brand headquarters
kind-market-entity = Market entity
kind-importer = Importer
kind-service-point = Service point
kind-customer-care-centre = Customer-care centre

org-new = New organisation
org-create = Create organisation
org-children = Organisations below
org-people = People
org-no-people = Nobody has a role here yet.

user-new = New user
user-create = Create user
user-enable = Enable account
user-disable = Disable account
status-active = Active
status-disabled = Disabled

audit-intro = Sign-ins, failed sign-ins, role changes and other security events. The log cannot be edited.
audit-all-kinds = All kinds
audit-empty = No events.
audit-when = When
audit-actor = By
audit-subject = Concerning
audit-ip = Address
audit-detail = Detail

profile-title = Your profile
profile-details = Your details
profile-saved = Your changes were saved.
profile-password = Password
profile-change-password = Change password
profile-password-changed = Your password was changed. Your other sessions were signed out.
profile-tokens = API tokens
profile-tokens-intro = An API token lets a program act as you through the API, with your roles. Send it as "Authorization: Bearer …".
profile-token-once = Copy the new token now: it is shown only once.
token-name = What is the token for?
token-create = Create token
token-prefix = Starts with
token-created = Created
token-last-used = Last used
token-revoked = Revoked
token-revoke = Revoke

form-not-saved = The change was not saved:
profile-wrong-password = This is not your current password.
market-inherit = As the parent organisation
hint-market = A market entity needs its market; other kinds take the parent's unless you choose one.

audit-kind-login = Signed in
audit-kind-login-failed = Failed sign-in
audit-kind-login-rate-limited = Sign-in blocked (too many failures)
audit-kind-logout = Signed out
audit-kind-user-created = User created
audit-kind-user-disabled = Account disabled
audit-kind-user-enabled = Account enabled
audit-kind-password-changed = Password changed
audit-kind-role-granted = Role granted
audit-kind-role-revoked = Role revoked
audit-kind-api-token-created = API token created
audit-kind-api-token-revoked = API token revoked
audit-kind-organisation-created = Organisation created

user-edit-details = Details
user-set-password = Set a new password
user-set-password-intro = For a colleague who forgot theirs. Their sessions end; tell them the new password in person.
done-role-granted = The role was granted.
done-role-revoked = The role was revoked.
done-status = The account status was changed.
done-details = The details were saved.
done-password = The new password is set; the user's sessions were ended.
rule-check-digit = The check digit does not match: please check the number.
