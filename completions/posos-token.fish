# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_posos_token_global_optspecs
    string join \n c/credentials= format= H/header timeout= v/verbose q/quiet impersonate-service-account= delegates= self-signed= ca-file= no-cache refresh min-valid= client-id= h/help V/version
end

function __fish_posos_token_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_posos_token_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_posos_token_using_subcommand
    set -l cmd (__fish_posos_token_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c posos-token -n "__fish_posos_token_needs_command" -s c -l credentials -d 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]' -r
complete -c posos-token -n "__fish_posos_token_needs_command" -l format -d 'Output format' -r -f -a "token\t'The token alone'
header\t'`Authorization: Bearer <token>`, ready for `curl -H`'
json\t'A JSON object with the token, its expiry (RFC 3339, UTC), audience and email'"
complete -c posos-token -n "__fish_posos_token_needs_command" -l timeout -d 'Bound on the whole run, in seconds' -r
complete -c posos-token -n "__fish_posos_token_needs_command" -l impersonate-service-account -d 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it' -r
complete -c posos-token -n "__fish_posos_token_needs_command" -l delegates -d 'Service accounts of the delegation chain to the impersonated one, comma-separated' -r
complete -c posos-token -n "__fish_posos_token_needs_command" -l self-signed -d 'Sign a token locally with the service-account key, with URL (the IAP-protected resource) as its audience, instead of asking Google; IAP accepts it when the service account is authorised on that resource' -r
complete -c posos-token -n "__fish_posos_token_needs_command" -l ca-file -d 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted' -r -F
complete -c posos-token -n "__fish_posos_token_needs_command" -l min-valid -d 'Use a cached token only while it has at least this many seconds of life left' -r
complete -c posos-token -n "__fish_posos_token_needs_command" -l client-id -l audience -d 'IAP OAuth client ID, the audience of the identity token' -r
complete -c posos-token -n "__fish_posos_token_needs_command" -s H -l header -d 'Print "Authorization: Bearer <token>" (short for --format header)'
complete -c posos-token -n "__fish_posos_token_needs_command" -s v -l verbose -d 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
complete -c posos-token -n "__fish_posos_token_needs_command" -s q -l quiet -d 'Print no warnings, only errors'
complete -c posos-token -n "__fish_posos_token_needs_command" -l no-cache -d 'Neither read nor write the token cache'
complete -c posos-token -n "__fish_posos_token_needs_command" -l refresh -d 'Fetch a new token even when a cached one is valid, and cache it'
complete -c posos-token -n "__fish_posos_token_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c posos-token -n "__fish_posos_token_needs_command" -s V -l version -d 'Print version'
complete -c posos-token -n "__fish_posos_token_needs_command" -f -a "inspect" -d 'Decode an identity token offline and print its header and claims (the signature is not verified)'
complete -c posos-token -n "__fish_posos_token_needs_command" -f -a "doctor" -d 'Check the setup step by step, ending with one real exchange at the token endpoint'
complete -c posos-token -n "__fish_posos_token_needs_command" -f -a "cache" -d 'Manage the token cache'
complete -c posos-token -n "__fish_posos_token_using_subcommand inspect" -s c -l credentials -d 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand inspect" -l timeout -d 'Bound on the whole run, in seconds' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand inspect" -l impersonate-service-account -d 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand inspect" -l delegates -d 'Service accounts of the delegation chain to the impersonated one, comma-separated' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand inspect" -l ca-file -d 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted' -r -F
complete -c posos-token -n "__fish_posos_token_using_subcommand inspect" -l client-id -l audience -d 'IAP OAuth client ID, the audience of the identity token' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand inspect" -l json -d 'Print the header and claims as a JSON object'
complete -c posos-token -n "__fish_posos_token_using_subcommand inspect" -s v -l verbose -d 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
complete -c posos-token -n "__fish_posos_token_using_subcommand inspect" -s q -l quiet -d 'Print no warnings, only errors'
complete -c posos-token -n "__fish_posos_token_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c posos-token -n "__fish_posos_token_using_subcommand doctor" -s c -l credentials -d 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand doctor" -l timeout -d 'Bound on the whole run, in seconds' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand doctor" -l impersonate-service-account -d 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand doctor" -l delegates -d 'Service accounts of the delegation chain to the impersonated one, comma-separated' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand doctor" -l ca-file -d 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted' -r -F
complete -c posos-token -n "__fish_posos_token_using_subcommand doctor" -l client-id -l audience -d 'IAP OAuth client ID, the audience of the identity token' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand doctor" -l offline -d 'Skip the exchange at the token endpoint, and the steps that need its response'
complete -c posos-token -n "__fish_posos_token_using_subcommand doctor" -s v -l verbose -d 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
complete -c posos-token -n "__fish_posos_token_using_subcommand doctor" -s q -l quiet -d 'Print no warnings, only errors'
complete -c posos-token -n "__fish_posos_token_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and not __fish_seen_subcommand_from clear path" -s c -l credentials -d 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and not __fish_seen_subcommand_from clear path" -l timeout -d 'Bound on the whole run, in seconds' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and not __fish_seen_subcommand_from clear path" -l impersonate-service-account -d 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and not __fish_seen_subcommand_from clear path" -l delegates -d 'Service accounts of the delegation chain to the impersonated one, comma-separated' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and not __fish_seen_subcommand_from clear path" -l ca-file -d 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted' -r -F
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and not __fish_seen_subcommand_from clear path" -l client-id -l audience -d 'IAP OAuth client ID, the audience of the identity token' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and not __fish_seen_subcommand_from clear path" -s v -l verbose -d 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and not __fish_seen_subcommand_from clear path" -s q -l quiet -d 'Print no warnings, only errors'
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and not __fish_seen_subcommand_from clear path" -s h -l help -d 'Print help'
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and not __fish_seen_subcommand_from clear path" -f -a "clear" -d 'Remove every cached token'
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and not __fish_seen_subcommand_from clear path" -f -a "path" -d 'Print the cache directory'
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from clear" -s c -l credentials -d 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from clear" -l timeout -d 'Bound on the whole run, in seconds' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from clear" -l impersonate-service-account -d 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from clear" -l delegates -d 'Service accounts of the delegation chain to the impersonated one, comma-separated' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from clear" -l ca-file -d 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted' -r -F
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from clear" -l client-id -l audience -d 'IAP OAuth client ID, the audience of the identity token' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from clear" -s v -l verbose -d 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from clear" -s q -l quiet -d 'Print no warnings, only errors'
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help'
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from path" -s c -l credentials -d 'Credentials file (JSON); - reads it from standard input [default: the order under "Credential discovery" in posos-token --help]' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from path" -l timeout -d 'Bound on the whole run, in seconds' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from path" -l impersonate-service-account -d 'Act as this service account: the credentials get its identity token through the IAM Credentials API, which needs the role Service Account OpenID Connect Identity Token Creator on it' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from path" -l delegates -d 'Service accounts of the delegation chain to the impersonated one, comma-separated' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from path" -l ca-file -d 'Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS. The system certificate store stays trusted' -r -F
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from path" -l client-id -l audience -d 'IAP OAuth client ID, the audience of the identity token' -r
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from path" -s v -l verbose -d 'Log each step on stderr (-vv adds HTTP details); never logs a secret'
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from path" -s q -l quiet -d 'Print no warnings, only errors'
complete -c posos-token -n "__fish_posos_token_using_subcommand cache; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
