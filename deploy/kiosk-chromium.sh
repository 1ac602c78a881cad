#!/bin/sh
# Start a kiosk, hallway display or tablet browser: full screen, awake, no pop-ups.
# Usage: kiosk-chromium.sh https://priem.example.local/kiosk/
URL="${1:?usage: $0 URL}"
xset s off; xset -dpms; xset s noblank          # never blank the screen
exec chromium --kiosk --noerrdialogs --disable-infobars --no-first-run \
  --disable-session-crashed-bubble --disable-translate --disable-features=Translate \
  --overscroll-history-navigation=0 --disable-pinch --autoplay-policy=no-user-gesture-required \
  --check-for-update-interval=31536000 --disable-background-networking --disable-component-update \
  --password-store=basic "$URL"
