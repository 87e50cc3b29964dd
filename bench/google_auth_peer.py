"""The peer to beat: Google's own Python library minting the same identity token.

Usage: google_auth_peer.py KEY_FILE AUDIENCE

Uses google.oauth2.service_account.IDTokenCredentials, which signs a JWT assertion with
target_audience and exchanges it at the key file's token_uri, then prints the identity token.
"""

import sys

import google.auth.transport.requests
from google.oauth2 import service_account


def main() -> None:
    key_file, audience = sys.argv[1], sys.argv[2]
    credentials = service_account.IDTokenCredentials.from_service_account_file(
        key_file, target_audience=audience
    )
    credentials.refresh(google.auth.transport.requests.Request())
    print(credentials.token)


if __name__ == "__main__":
    main()
