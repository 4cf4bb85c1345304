/** A small picture of an email: its rendered HTML in a sandboxed iframe (no scripts, no forms, no
 * navigation), laid out at the email's own width and scaled down, never taking clicks or focus. */
import "./starters.css";

/** The width emails are laid out at (MJML's default body width). */
const EMAIL_WIDTH = 600;

export interface TemplateThumbnailProps {
  /** the rendered email */
  html: string;
  /** what the picture shows, for assistive technology (the iframe's title) */
  title: string;
  /** the shown width and height, in CSS pixels */
  width?: number;
  height?: number;
  className?: string;
}

export function TemplateThumbnail({ html, title, width = 180, height = 220, className }: TemplateThumbnailProps) {
  const scale = width / EMAIL_WIDTH;
  return (
    <div className={`thumbnail${className ? ` ${className}` : ""}`} style={{ width, height }} data-testid="template-thumbnail">
      {html ? (
        <iframe
          title={title}
          srcDoc={html}
          sandbox=""
          loading="lazy"
          tabIndex={-1}
          scrolling="no"
          style={{ width: EMAIL_WIDTH, height: height / scale, transform: `scale(${scale})` }}
        />
      ) : (
        <div className="thumbnail-empty">No preview</div>
      )}
    </div>
  );
}
