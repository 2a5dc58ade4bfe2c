//! A single-line text input, shared by every pane's text fields: one behaviour
//! everywhere. A field opened with a value has it selected (the first typed
//! character, Backspace, Delete or a paste replaces it; a cursor key keeps it);
//! Ctrl-U empties it; a paste of several lines stays one value on one line.

/// What the admin can do in any open text field, shown beside it.
pub const FIELD_HINT: &str = "Enter ok · Esc cancel · Ctrl-U clear";

/// A single-line text input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextField {
    pub value: String,
    /// Cursor position in characters.
    pub cursor: usize,
    /// The whole value is selected: the next insertion or deletion replaces it.
    pub selected: bool,
}

impl TextField {
    /// A field holding `value`, cursor at the end, nothing selected.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        let cursor = value.chars().count();
        TextField {
            value,
            cursor,
            selected: false,
        }
    }

    /// A field opened with `value` selected, so typing replaces it (a pre-filled
    /// prompt: `T` then `45` gives 45, not 9045).
    pub fn selected(value: impl Into<String>) -> Self {
        let mut field = TextField::new(value);
        field.select_all();
        field
    }

    /// Selects the whole value (nothing to select in an empty field).
    pub fn select_all(&mut self) {
        self.selected = !self.value.is_empty();
        self.cursor = self.value.chars().count();
    }

    /// Drops a selection by replacing the value with nothing.
    fn take_selection(&mut self) -> bool {
        if self.selected {
            self.selected = false;
            self.value.clear();
            self.cursor = 0;
            true
        } else {
            false
        }
    }

    pub fn insert(&mut self, c: char) {
        self.take_selection();
        let at = self.byte_index(self.cursor);
        self.value.insert(at, c);
        self.cursor += 1;
    }

    /// Inserts pasted text as one value on one line: surrounding blank lines are
    /// dropped, line breaks inside become one space each, other control characters
    /// are dropped. Returns the number of lines joined (1 for a one-line paste).
    pub fn insert_str(&mut self, s: &str) -> usize {
        let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        self.take_selection();
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                self.insert(' ');
            }
            for c in line.chars().filter(|c| !c.is_control()) {
                self.insert(c);
            }
        }
        lines.len()
    }

    pub fn backspace(&mut self) {
        if self.take_selection() {
            return;
        }
        if self.cursor > 0 {
            let at = self.byte_index(self.cursor - 1);
            self.value.remove(at);
            self.cursor -= 1;
        }
    }

    pub fn delete(&mut self) {
        if self.take_selection() {
            return;
        }
        if self.cursor < self.value.chars().count() {
            let at = self.byte_index(self.cursor);
            self.value.remove(at);
        }
    }

    pub fn left(&mut self) {
        self.selected = false;
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.selected = false;
        self.cursor = (self.cursor + 1).min(self.value.chars().count());
    }

    pub fn home(&mut self) {
        self.selected = false;
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.selected = false;
        self.cursor = self.value.chars().count();
    }

    pub fn clear(&mut self) {
        self.selected = false;
        self.value.clear();
        self.cursor = 0;
    }

    fn byte_index(&self, chars: usize) -> usize {
        self.value
            .char_indices()
            .nth(chars)
            .map(|(i, _)| i)
            .unwrap_or(self.value.len())
    }
}

/// An edit of a text field, from the key table's `Typing` bindings (or a printable key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEdit {
    Insert(char),
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    /// Ctrl-U: empty the field.
    Clear,
}

impl TextField {
    /// Applies one edit.
    pub fn edit(&mut self, edit: TextEdit) {
        match edit {
            TextEdit::Insert(c) => self.insert(c),
            TextEdit::Backspace => self.backspace(),
            TextEdit::Delete => self.delete(),
            TextEdit::Left => self.left(),
            TextEdit::Right => self.right(),
            TextEdit::Home => self.home(),
            TextEdit::End => self.end(),
            TextEdit::Clear => self.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selected_value_is_replaced_by_the_first_key() {
        let mut f = TextField::selected("90");
        f.edit(TextEdit::Insert('4'));
        f.edit(TextEdit::Insert('5'));
        assert_eq!(f.value, "45");
        let mut f = TextField::selected("30");
        f.edit(TextEdit::End);
        f.edit(TextEdit::Insert('7'));
        assert_eq!(f.value, "307", "a cursor key keeps the value");
        let mut f = TextField::selected("30");
        f.edit(TextEdit::Backspace);
        assert_eq!(f.value, "");
    }

    #[test]
    fn a_multi_line_paste_stays_one_line() {
        let mut f = TextField::selected("old");
        assert_eq!(f.insert_str("\n a@x.com\r\nb@x.com\n\n"), 2);
        assert_eq!(f.value, "a@x.com b@x.com");
        assert_eq!(f.cursor, f.value.chars().count());
    }
}
