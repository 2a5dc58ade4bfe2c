//! Turns a rendered ratatui buffer into a PNG, with an embedded 8x8 bitmap font drawn
//! at 8x16 per cell, so screenshots need no external tools or system fonts.

use std::path::Path;

use font8x8::UnicodeFonts;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const CELL_W: usize = 8;
const CELL_H: usize = 16;
const DEFAULT_FG: [u8; 3] = [0xd4, 0xd4, 0xd4];
const DEFAULT_BG: [u8; 3] = [0x1c, 0x1c, 0x1c];

/// The 16-colour palette of a typical dark terminal theme.
fn rgb(color: Color, default: [u8; 3]) -> [u8; 3] {
    match color {
        Color::Reset => default,
        Color::Black => [0x1c, 0x1c, 0x1c],
        Color::Red => [0xcd, 0x31, 0x31],
        Color::Green => [0x0d, 0xbc, 0x79],
        Color::Yellow => [0xe5, 0xe5, 0x10],
        Color::Blue => [0x24, 0x72, 0xc8],
        Color::Magenta => [0xbc, 0x3f, 0xbc],
        Color::Cyan => [0x11, 0xa8, 0xcd],
        Color::Gray => [0xcc, 0xcc, 0xcc],
        Color::DarkGray => [0x76, 0x76, 0x76],
        Color::LightRed => [0xf1, 0x4c, 0x4c],
        Color::LightGreen => [0x23, 0xd1, 0x8b],
        Color::LightYellow => [0xf5, 0xf5, 0x43],
        Color::LightBlue => [0x3b, 0x8e, 0xea],
        Color::LightMagenta => [0xd6, 0x70, 0xd6],
        Color::LightCyan => [0x29, 0xb8, 0xdb],
        Color::White => [0xf2, 0xf2, 0xf2],
        Color::Rgb(r, g, b) => [r, g, b],
        Color::Indexed(i) => indexed(i),
    }
}

fn indexed(i: u8) -> [u8; 3] {
    const BASE: [Color; 16] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    match i {
        0..=15 => rgb(BASE[i as usize], DEFAULT_FG),
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            [level(i / 36), level((i / 6) % 6), level(i % 6)]
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            [v, v, v]
        }
    }
}

/// Glyphs the font lacks but the UI uses.
fn extra_glyph(c: char) -> Option<[u8; 8]> {
    Some(match c {
        '✓' => [0x00, 0x40, 0x20, 0x11, 0x0a, 0x04, 0x00, 0x00],
        '✗' => [0x00, 0x42, 0x24, 0x18, 0x24, 0x42, 0x00, 0x00],
        '•' | '●' => [0x00, 0x00, 0x18, 0x3c, 0x3c, 0x18, 0x00, 0x00],
        '▶' => [0x02, 0x06, 0x0e, 0x1e, 0x0e, 0x06, 0x02, 0x00],
        '…' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x49, 0x00],
        '↑' => [0x08, 0x1c, 0x2a, 0x08, 0x08, 0x08, 0x08, 0x00],
        '↓' => [0x08, 0x08, 0x08, 0x08, 0x2a, 0x1c, 0x08, 0x00],
        '←' => [0x00, 0x04, 0x02, 0x7f, 0x02, 0x04, 0x00, 0x00],
        '→' => [0x00, 0x10, 0x20, 0x7f, 0x20, 0x10, 0x00, 0x00],
        '—' | '─' => [0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00],
        '│' => [0x08; 8],
        '┌' => [0x00, 0x00, 0x00, 0xf8, 0x08, 0x08, 0x08, 0x08],
        '┐' => [0x00, 0x00, 0x00, 0x0f, 0x08, 0x08, 0x08, 0x08],
        '└' => [0x08, 0x08, 0x08, 0xf8, 0x00, 0x00, 0x00, 0x00],
        '┘' => [0x08, 0x08, 0x08, 0x0f, 0x00, 0x00, 0x00, 0x00],
        '⚠' => [0x08, 0x14, 0x14, 0x2a, 0x22, 0x49, 0x7f, 0x00],
        _ => return None,
    })
}

fn glyph(c: char) -> [u8; 8] {
    if let Some(g) = extra_glyph(c) {
        return g;
    }
    font8x8::BASIC_FONTS
        .get(c)
        .or_else(|| font8x8::BOX_FONTS.get(c))
        .or_else(|| font8x8::BLOCK_FONTS.get(c))
        .or_else(|| font8x8::LATIN_FONTS.get(c))
        .or_else(|| font8x8::GREEK_FONTS.get(c))
        .or_else(|| font8x8::MISC_FONTS.get(c))
        // Unknown: a small hollow box, so a missing glyph is visible rather than blank.
        .unwrap_or([0x00, 0x7e, 0x42, 0x42, 0x42, 0x42, 0x7e, 0x00])
}

/// RGB pixels of the whole buffer.
pub fn rasterize(buffer: &Buffer) -> (usize, usize, Vec<u8>) {
    let area = buffer.area;
    let (w, h) = (area.width as usize * CELL_W, area.height as usize * CELL_H);
    let mut pixels = vec![0u8; w * h * 3];
    for y in 0..area.height {
        for x in 0..area.width {
            let cell = &buffer[(area.x + x, area.y + y)];
            let mut fg = rgb(cell.fg, DEFAULT_FG);
            let mut bg = rgb(cell.bg, DEFAULT_BG);
            if cell.modifier.contains(Modifier::REVERSED) {
                std::mem::swap(&mut fg, &mut bg);
            }
            if cell.modifier.contains(Modifier::DIM) {
                fg = fg.map(|v| v / 2 + bg[0] / 4);
            }
            let bold = cell.modifier.contains(Modifier::BOLD);
            let underline = cell.modifier.contains(Modifier::UNDERLINED);
            let ch = cell.symbol().chars().next().unwrap_or(' ');
            let rows = glyph(ch);
            for py in 0..CELL_H {
                let bits = rows[py / 2];
                for px in 0..CELL_W {
                    let mut on = bits & (1 << px) != 0;
                    // Faux bold: smear each pixel one to the right.
                    if bold && px > 0 {
                        on |= bits & (1 << (px - 1)) != 0;
                    }
                    if underline && py == CELL_H - 1 {
                        on = true;
                    }
                    let color = if on { fg } else { bg };
                    let ix = x as usize * CELL_W + px;
                    let iy = y as usize * CELL_H + py;
                    let at = (iy * w + ix) * 3;
                    pixels[at..at + 3].copy_from_slice(&color);
                }
            }
        }
    }
    (w, h, pixels)
}

/// Encodes the buffer as a PNG file.
pub fn write_png(buffer: &Buffer, path: &Path) -> std::io::Result<()> {
    let (w, h, pixels) = rasterize(buffer);
    let file = std::fs::File::create(path)?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer
        .write_image_data(&pixels)
        .map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn letters_light_up_pixels_in_their_cell_only() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 2, 1));
        buffer.set_string(0, 0, "A", Style::new());
        let (w, h, pixels) = rasterize(&buffer);
        assert_eq!((w, h), (16, 16));
        let lit = |x0: usize| {
            (0..h)
                .flat_map(|y| (x0..x0 + 8).map(move |x| (x, y)))
                .filter(|(x, y)| pixels[(y * w + x) * 3] == DEFAULT_FG[0])
                .count()
        };
        assert!(lit(0) > 20, "the A cell has lit pixels");
        assert_eq!(lit(8), 0, "the blank cell has none");
    }
}
