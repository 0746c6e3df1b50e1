//! A small XML writer: elements in the order they are written, text and attributes escaped, empty
//! elements never written (Peppol R008 forbids them; SAF-T has no use for them).

pub struct Xml {
    out: String,
    open: Vec<&'static str>,
}

pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // Control characters other than tab and newlines are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

impl Xml {
    /// Starts a document with the XML declaration and the root element with its attributes.
    pub fn new(root: &'static str, attrs: &[(&str, &str)]) -> Xml {
        let mut x = Xml {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            open: Vec::new(),
        };
        x.open_with(root, attrs);
        x
    }

    fn indent(&mut self) {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    pub fn open(&mut self, tag: &'static str) -> &mut Self {
        self.open_with(tag, &[])
    }

    pub fn open_with(&mut self, tag: &'static str, attrs: &[(&str, &str)]) -> &mut Self {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        for (k, v) in attrs {
            self.out.push_str(&format!(" {k}=\"{}\"", escape(v)));
        }
        self.out.push_str(">\n");
        self.open.push(tag);
        self
    }

    pub fn close(&mut self) -> &mut Self {
        if let Some(tag) = self.open.pop() {
            self.indent();
            self.out.push_str(&format!("</{tag}>\n"));
        }
        self
    }

    /// `<tag>text</tag>`, or nothing when the text is empty after trimming.
    pub fn leaf(&mut self, tag: &'static str, text: &str) -> &mut Self {
        self.leaf_with(tag, &[], text)
    }

    pub fn leaf_with(
        &mut self,
        tag: &'static str,
        attrs: &[(&str, &str)],
        text: &str,
    ) -> &mut Self {
        let text = text.trim();
        if text.is_empty() {
            return self;
        }
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        for (k, v) in attrs {
            self.out.push_str(&format!(" {k}=\"{}\"", escape(v)));
        }
        self.out.push_str(&format!(">{}</{tag}>\n", escape(text)));
        self
    }

    /// A leaf when the value is present.
    pub fn opt(&mut self, tag: &'static str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.leaf(tag, t);
        }
        self
    }

    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_skips_empty() {
        let mut x = Xml::new("a", &[("xmlns", "u&v")]);
        x.leaf("b", "1 < 2 & \"q\"").leaf("c", "  ").opt("d", None);
        x.open("e").leaf("f", "x").close();
        let s = x.finish();
        assert!(s.contains("<a xmlns=\"u&amp;v\">"));
        assert!(s.contains("<b>1 &lt; 2 &amp; &quot;q&quot;</b>"));
        assert!(!s.contains("<c>"));
        assert!(s.contains("<e>\n    <f>x</f>\n  </e>\n</a>\n"));
    }
}
