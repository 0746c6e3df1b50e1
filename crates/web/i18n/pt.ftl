# Português (Portugal).
skip-to-content = Saltar para o conteúdo
language = Idioma
logout = Terminar sessão
nav-main = Navegação principal
nav-home = Início
coming-later = Disponível numa versão futura
coming-badge = em breve
api-explorer = Explorador da API
save = Guardar
filter = Filtrar
next-page = Página seguinte
back-home = Voltar à página inicial
form-has-errors = Corrija os campos assinalados abaixo.

error-title = Algo não está bem
error-unavailable = O serviço está indisponível neste momento. Tente novamente daqui a pouco.
error-too-large = O formulário enviado é demasiado grande.
error-csrf = O formulário expirou ou não veio deste site. Volte atrás, recarregue a página e tente novamente.
error-not-found = Esta página não existe ou não tem acesso a ela.
error-forbidden = As suas funções não permitem isto.
error-conflict = Outra pessoa alterou isto entretanto. Recarregue a página e tente novamente.
error-invalid = Os dados introduzidos não são válidos.
error-internal = Ocorreu um erro inesperado. Foi registado.

login-title = Iniciar sessão
login-intro = Inicie sessão com o seu nome de utilizador e palavra-passe do Aftersales.
login-submit = Entrar
login-invalid = Nome de utilizador desconhecido ou palavra-passe errada.
login-rate-limited = Demasiadas tentativas falhadas. Aguarde 15 minutos e tente novamente.

home-hello = Olá, { $name }
home-admin = Administração
home-users-count = { $count ->
    [one] { $count } utilizador
   *[other] { $count } utilizadores
}
home-orgs-count = { $count ->
    [one] { $count } organização
   *[other] { $count } organizações
}
home-recent-events = Eventos de segurança recentes
home-network = A sua rede de serviço
home-team = A sua equipa

field-username = Nome de utilizador
field-password = Palavra-passe
field-name = Nome
field-city = Localidade
field-market = Mercado
field-kind = Tipo
field-brand = Marca
field-parent = Organização superior
field-email = E-mail
field-language = Idioma
field-organisation = Organização
field-role = Função
field-roles = Funções
field-status = Estado
field-current-password = Palavra-passe atual
field-new-password = Nova palavra-passe
hint-username = 3 a 64 caracteres: letras a–z, algarismos e . _ -
hint-password = Pelo menos 12 caracteres. Uma frase é fácil de lembrar e difícil de adivinhar.

rule-required = Este campo é obrigatório.
rule-too-short = É demasiado curto.
rule-too-long = É demasiado longo.
rule-format = O formato não está correto.
rule-one-of = Escolha um dos valores propostos.
rule-unique = Já está a ser utilizado.
rule-unknown = É desconhecido ou está fora das suas organizações.
rule-not-allowed = Não é permitido.
rule-type = O tipo está errado.

role-service-advisor = Consultor de serviço
role-service-manager = Chefe de oficina
role-technician = Técnico
role-valet-driver = Motorista
role-market-cs-manager = Gestor de apoio ao cliente do mercado
role-importer-staff = Colaborador do importador
role-hq-analyst = Analista da sede
role-administrator = Administrador
role-grant = Atribuir uma função
role-revoke = Retirar

cap-inbox = Caixa de entrada
cap-customers = Clientes
cap-workshop = Oficina
cap-logistics = Logística
cap-billing = Faturação
cap-warranty = Garantia
cap-network = Normas da rede
cap-training = Formação
cap-kpis = Indicadores
cap-pilots = Pilotos
cap-organisations = Organizações
cap-users = Pessoas
cap-audit = Registo de segurança

kind-brand-hq = Sede da marca
kind-market-entity = Entidade do mercado
kind-importer = Importador
kind-service-point = Ponto de serviço
kind-customer-care-centre = Centro de apoio ao cliente

org-new = Nova organização
org-create = Criar organização
org-children = Organizações abaixo
org-people = Pessoas
org-no-people = Ainda ninguém tem uma função aqui.

user-new = Novo utilizador
user-create = Criar utilizador
user-enable = Ativar a conta
user-disable = Desativar a conta
status-active = Ativo
status-disabled = Desativado

audit-intro = Inícios de sessão, tentativas falhadas, alterações de funções e outros eventos de segurança. O registo não pode ser alterado.
audit-all-kinds = Todos os tipos
audit-empty = Sem eventos.
audit-when = Quando
audit-actor = Por
audit-subject = Relativo a
audit-ip = Endereço
audit-detail = Detalhe

profile-title = O seu perfil
profile-details = Os seus dados
profile-saved = As alterações foram guardadas.
profile-password = Palavra-passe
profile-change-password = Alterar palavra-passe
profile-password-changed = A palavra-passe foi alterada. As suas outras sessões foram terminadas.
profile-tokens = Chaves de API
profile-tokens-intro = Uma chave de API permite a um programa agir em seu nome através da API, com as suas funções. Envie-a como "Authorization: Bearer …".
profile-token-once = Copie a nova chave agora: só é mostrada uma vez.
token-name = Para que serve a chave?
token-create = Criar chave
token-prefix = Começa por
token-created = Criada
token-last-used = Última utilização
token-revoked = Revogada
token-revoke = Revogar

form-not-saved = A alteração não foi guardada:
profile-wrong-password = Esta não é a sua palavra-passe atual.
market-inherit = Como a organização superior
hint-market = Uma entidade de mercado precisa do seu mercado; os outros tipos herdam o da organização superior, a menos que escolha um.

audit-kind-login = Sessão iniciada
audit-kind-login-failed = Início de sessão falhado
audit-kind-login-rate-limited = Início de sessão bloqueado (demasiadas falhas)
audit-kind-logout = Sessão terminada
audit-kind-user-created = Utilizador criado
audit-kind-user-disabled = Conta desativada
audit-kind-user-enabled = Conta ativada
audit-kind-password-changed = Palavra-passe alterada
audit-kind-role-granted = Função atribuída
audit-kind-role-revoked = Função retirada
audit-kind-api-token-created = Chave de API criada
audit-kind-api-token-revoked = Chave de API revogada
audit-kind-organisation-created = Organização criada

user-edit-details = Dados
user-set-password = Definir nova palavra-passe
user-set-password-intro = Para um colega que se esqueceu da sua. As sessões dele terminam; comunique-lhe a nova palavra-passe pessoalmente.
done-role-granted = A função foi atribuída.
done-role-revoked = A função foi retirada.
done-status = O estado da conta foi alterado.
done-details = Os dados foram guardados.
done-password = A nova palavra-passe foi definida; as sessões do utilizador foram terminadas.
rule-check-digit = O dígito de controlo não confere: verifique o número.
