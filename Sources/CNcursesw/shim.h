#ifndef PARAPHE_CNCURSESW_SHIM_H
#define PARAPHE_CNCURSESW_SHIM_H
// SwiftPM drops pkg-config's -D_XOPEN_SOURCE: ask for the wide-character API explicitly.
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <ncursesw/curses.h>

// Globals and macros Swift 6 cannot import safely, wrapped as functions.
static inline WINDOW *paraphe_stdscr(void) { return stdscr; }
static inline attr_t paraphe_a_normal(void) { return A_NORMAL; }
static inline attr_t paraphe_a_bold(void) { return A_BOLD; }
static inline attr_t paraphe_a_reverse(void) { return A_REVERSE; }
static inline attr_t paraphe_a_underline(void) { return A_UNDERLINE; }
static inline attr_t paraphe_a_dim(void) { return A_DIM; }
// Draws one wide-character cell (a base character plus combining marks) with attributes and a color pair.
static inline int paraphe_put_cell(WINDOW *win, int y, int x, const wchar_t *text, attr_t attributes, short pair) {
    cchar_t cell;
    if (setcchar(&cell, text, attributes, pair, NULL) != OK) return ERR;
    return mvwadd_wch(win, y, x, &cell);
}
#endif
