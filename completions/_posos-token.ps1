
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'posos-token' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'posos-token'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'posos-token' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--credentials', '--credentials', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound on the whole run, in seconds')
            [CompletionResult]::new('--impersonate-service-account', '--impersonate-service-account', [CompletionResultType]::ParameterName, 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it')
            [CompletionResult]::new('--delegates', '--delegates', [CompletionResultType]::ParameterName, 'Service accounts of the delegation chain to the impersonated one, comma-separated')
            [CompletionResult]::new('--self-signed', '--self-signed', [CompletionResultType]::ParameterName, 'Sign a token locally with the service-account key, with URL (the IAP-protected resource) as its audience, instead of asking Google; IAP accepts it when the service account is authorised on that resource')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted')
            [CompletionResult]::new('--min-valid', '--min-valid', [CompletionResultType]::ParameterName, 'Use a cached token only while it has at least this many seconds of life left')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Print "Authorization: Bearer <token>" (short for --format header)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Print "Authorization: Bearer <token>" (short for --format header)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Neither read nor write the token cache')
            [CompletionResult]::new('--refresh', '--refresh', [CompletionResultType]::ParameterName, 'Fetch a new token even when a cached one is valid, and cache it')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Decode an identity token offline and print its header and claims (the signature is not verified)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the setup step by step, ending with one real exchange at the token endpoint')
            [CompletionResult]::new('cache', 'cache', [CompletionResultType]::ParameterValue, 'Manage the token cache')
            break
        }
        'posos-token;inspect' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--credentials', '--credentials', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound on the whole run, in seconds')
            [CompletionResult]::new('--impersonate-service-account', '--impersonate-service-account', [CompletionResultType]::ParameterName, 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it')
            [CompletionResult]::new('--delegates', '--delegates', [CompletionResultType]::ParameterName, 'Service accounts of the delegation chain to the impersonated one, comma-separated')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the header and claims as a JSON object')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'posos-token;doctor' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--credentials', '--credentials', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound on the whole run, in seconds')
            [CompletionResult]::new('--impersonate-service-account', '--impersonate-service-account', [CompletionResultType]::ParameterName, 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it')
            [CompletionResult]::new('--delegates', '--delegates', [CompletionResultType]::ParameterName, 'Service accounts of the delegation chain to the impersonated one, comma-separated')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Skip the exchange at the token endpoint, and the steps that need its response')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'posos-token;cache' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--credentials', '--credentials', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound on the whole run, in seconds')
            [CompletionResult]::new('--impersonate-service-account', '--impersonate-service-account', [CompletionResultType]::ParameterName, 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it')
            [CompletionResult]::new('--delegates', '--delegates', [CompletionResultType]::ParameterName, 'Service accounts of the delegation chain to the impersonated one, comma-separated')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Remove every cached token')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the cache directory')
            break
        }
        'posos-token;cache;clear' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--credentials', '--credentials', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound on the whole run, in seconds')
            [CompletionResult]::new('--impersonate-service-account', '--impersonate-service-account', [CompletionResultType]::ParameterName, 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it')
            [CompletionResult]::new('--delegates', '--delegates', [CompletionResultType]::ParameterName, 'Service accounts of the delegation chain to the impersonated one, comma-separated')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'posos-token;cache;path' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--credentials', '--credentials', [CompletionResultType]::ParameterName, 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound on the whole run, in seconds')
            [CompletionResult]::new('--impersonate-service-account', '--impersonate-service-account', [CompletionResultType]::ParameterName, 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it')
            [CompletionResult]::new('--delegates', '--delegates', [CompletionResultType]::ParameterName, 'Service accounts of the delegation chain to the impersonated one, comma-separated')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'IAP OAuth client ID, the audience of the identity token')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log each step on stderr (-vv adds HTTP details); never logs a secret')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings, only errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
