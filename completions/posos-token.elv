
use builtin;
use str;

set edit:completion:arg-completer[posos-token] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'posos-token'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'posos-token'= {
            cand -c 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --credentials 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --format 'Output format'
            cand --timeout 'Bound on the whole run, in seconds'
            cand --impersonate-service-account 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it'
            cand --delegates 'Service accounts of the delegation chain to the impersonated one, comma-separated'
            cand --self-signed 'Sign a token locally with the service-account key, with URL (the IAP-protected resource) as its audience, instead of asking Google; IAP accepts it when the service account is authorised on that resource'
            cand --ca-file 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted'
            cand --min-valid 'Use a cached token only while it has at least this many seconds of life left'
            cand --client-id 'IAP OAuth client ID, the audience of the identity token'
            cand --audience 'IAP OAuth client ID, the audience of the identity token'
            cand -H 'Print "Authorization: Bearer <token>" (short for --format header)'
            cand --header 'Print "Authorization: Bearer <token>" (short for --format header)'
            cand -v 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand --verbose 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand -q 'Print no warnings, only errors'
            cand --quiet 'Print no warnings, only errors'
            cand --no-cache 'Neither read nor write the token cache'
            cand --refresh 'Fetch a new token even when a cached one is valid, and cache it'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand inspect 'Decode an identity token offline and print its header and claims (the signature is not verified)'
            cand doctor 'Check the setup step by step, ending with one real exchange at the token endpoint'
            cand cache 'Manage the token cache'
        }
        &'posos-token;inspect'= {
            cand -c 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --credentials 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --timeout 'Bound on the whole run, in seconds'
            cand --impersonate-service-account 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it'
            cand --delegates 'Service accounts of the delegation chain to the impersonated one, comma-separated'
            cand --ca-file 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted'
            cand --client-id 'IAP OAuth client ID, the audience of the identity token'
            cand --audience 'IAP OAuth client ID, the audience of the identity token'
            cand --json 'Print the header and claims as a JSON object'
            cand -v 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand --verbose 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand -q 'Print no warnings, only errors'
            cand --quiet 'Print no warnings, only errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'posos-token;doctor'= {
            cand -c 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --credentials 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --timeout 'Bound on the whole run, in seconds'
            cand --impersonate-service-account 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it'
            cand --delegates 'Service accounts of the delegation chain to the impersonated one, comma-separated'
            cand --ca-file 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted'
            cand --client-id 'IAP OAuth client ID, the audience of the identity token'
            cand --audience 'IAP OAuth client ID, the audience of the identity token'
            cand --offline 'Skip the exchange at the token endpoint, and the steps that need its response'
            cand -v 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand --verbose 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand -q 'Print no warnings, only errors'
            cand --quiet 'Print no warnings, only errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'posos-token;cache'= {
            cand -c 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --credentials 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --timeout 'Bound on the whole run, in seconds'
            cand --impersonate-service-account 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it'
            cand --delegates 'Service accounts of the delegation chain to the impersonated one, comma-separated'
            cand --ca-file 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted'
            cand --client-id 'IAP OAuth client ID, the audience of the identity token'
            cand --audience 'IAP OAuth client ID, the audience of the identity token'
            cand -v 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand --verbose 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand -q 'Print no warnings, only errors'
            cand --quiet 'Print no warnings, only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand clear 'Remove every cached token'
            cand path 'Print the cache directory'
        }
        &'posos-token;cache;clear'= {
            cand -c 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --credentials 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --timeout 'Bound on the whole run, in seconds'
            cand --impersonate-service-account 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it'
            cand --delegates 'Service accounts of the delegation chain to the impersonated one, comma-separated'
            cand --ca-file 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted'
            cand --client-id 'IAP OAuth client ID, the audience of the identity token'
            cand --audience 'IAP OAuth client ID, the audience of the identity token'
            cand -v 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand --verbose 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand -q 'Print no warnings, only errors'
            cand --quiet 'Print no warnings, only errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'posos-token;cache;path'= {
            cand -c 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --credentials 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]'
            cand --timeout 'Bound on the whole run, in seconds'
            cand --impersonate-service-account 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it'
            cand --delegates 'Service accounts of the delegation chain to the impersonated one, comma-separated'
            cand --ca-file 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted'
            cand --client-id 'IAP OAuth client ID, the audience of the identity token'
            cand --audience 'IAP OAuth client ID, the audience of the identity token'
            cand -v 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand --verbose 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
            cand -q 'Print no warnings, only errors'
            cand --quiet 'Print no warnings, only errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
    ]
    $completions[$command]
}
