"""What the browser tests share: Debian's Chromium, its settings, the chat's selectors, and a
student typing a question.  Only the tests that drive a browser import this (and Playwright)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
BOT = "#agora-chat [data-testid='bot']"
USER = "#agora-chat [data-testid='user']"


def ask(page: Page, question: str) -> None:
    """Type a question in the page and send it, as a student would."""
    box = page.locator("#agora-input textarea")
    expect(box).to_be_enabled()
    box.fill(question)
    box.press("Enter")
