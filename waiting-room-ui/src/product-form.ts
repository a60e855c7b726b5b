/**
 * The console's product form (issue 15 item 5): what a sale sells (description, image, price
 * and currency), set in the New sale form and changed, live, in the sale's own Product form
 * (`PATCH /api/admin/sales/:id` with `product`; null removes it). Beside the fields, a preview
 * as a shopper would see it: the image, the description, the price in the shopper's locale.
 * The gateway judges the content; a refusal (422 INVALID_SALE_CONFIG naming the field) is
 * shown next to the form, and nothing changed.
 */
import type { Failure } from './api.js';
import { byId, h, setText, show } from './dom.js';
import { formatPrice, productBody, productFields, sameProduct, type ProductFields } from './product.js';
import type { AdminSale, Product } from './shapes.js';
import type { ConsoleCalls } from './webhooks-panel.js';

/** the four fields and the preview, built into a container of the page (two forms share them) */
export class ProductFieldset {
  private readonly _inputs: Record<keyof ProductFields, HTMLInputElement | HTMLTextAreaElement>;
  private readonly _preview: HTMLElement;
  private readonly _image: HTMLImageElement;
  private readonly _imageNote: HTMLElement;
  private readonly _description: HTMLElement;
  private readonly _price: HTMLElement;
  private readonly _empty: HTMLElement;

  /** `prefix`: the ids of its elements (`<prefix>-price`, `<prefix>-preview`...) */
  constructor(container: HTMLElement, prefix: string) {
    const id = (k: string) => `${prefix}-${k}`;
    const field = (k: string, label: string, input: HTMLInputElement | HTMLTextAreaElement, wide: boolean, hint?: string) =>
      h(
        'div',
        { class: wide ? 'field wide' : 'field' },
        h('label', { for: id(k) }, label),
        input,
        ...(hint ? [h('p', { id: id(`${k}-hint`), class: 'muted small' }, hint)] : []),
      );
    this._inputs = {
      description: h('textarea', { id: id('description'), rows: '2', maxlength: '1000' }),
      imageUrl: h('input', {
        id: id('image'),
        type: 'text',
        maxlength: '2048',
        spellcheck: 'false',
        placeholder: 'https://shop.example/drop.jpg or /images/drop.jpg',
      }),
      // no pattern: the gateway says what a price must be, and the console shows its words
      price: h('input', {
        id: id('price'),
        type: 'text',
        inputmode: 'decimal',
        spellcheck: 'false',
        placeholder: '19.90',
        'aria-describedby': id('price-hint'),
      }),
      currency: h('input', {
        id: id('currency'),
        type: 'text',
        maxlength: '3',
        spellcheck: 'false',
        placeholder: 'EUR',
        autocapitalize: 'characters',
      }),
    };
    this._image = h('img', { id: id('preview-image'), alt: '', class: 'product-image' });
    this._imageNote = h('p', { id: id('preview-image-note'), class: 'muted small' }, 'The image could not be loaded.');
    this._description = h('p', { id: id('preview-description'), class: 'product-description' });
    this._price = h('p', { id: id('preview-price'), class: 'product-price' });
    this._empty = h('p', { id: id('preview-empty'), class: 'muted small' }, 'No product: the page shows the sale’s name only.');
    this._preview = h(
      'div',
      { id: id('preview'), class: 'product-preview', role: 'group', 'aria-label': 'Preview of the product' },
      h('p', { class: 'eyebrow' }, 'Preview'),
      this._empty,
      this._image,
      this._imageNote,
      this._description,
      this._price,
    );
    container.replaceChildren(
      h(
        'div',
        { class: 'product-grid' },
        h(
          'div',
          { class: 'product-fields' },
          field('description', 'Description (plain text)', this._inputs.description, true),
          field('image', 'Image URL', this._inputs.imageUrl, true),
          field('price', 'Price', this._inputs.price, false, 'A decimal with a point: 19.90'),
          field('currency', 'Currency (ISO 4217)', this._inputs.currency, false),
        ),
        this._preview,
      ),
    );
    for (const input of Object.values(this._inputs)) input.addEventListener('input', () => this._renderPreview());
    this._image.addEventListener('error', () => {
      show(this._image, false);
      show(this._imageNote, true);
    });
    this._image.addEventListener('load', () => show(this._imageNote, false));
    this._renderPreview();
  }

  /** the product the fields say (null: none) */
  value(): Product | null {
    return productBody({
      description: this._inputs.description.value,
      imageUrl: this._inputs.imageUrl.value,
      price: this._inputs.price.value,
      currency: this._inputs.currency.value,
    });
  }

  fill(p: Product | null): void {
    const f = productFields(p);
    for (const k of Object.keys(f) as (keyof ProductFields)[]) this._inputs[k].value = f[k];
    this._renderPreview();
  }

  private _renderPreview(): void {
    const p = this.value();
    show(this._empty, p === null);
    const src = p?.imageUrl ?? '';
    if (src === '') {
      this._image.removeAttribute('src');
      show(this._image, false);
      show(this._imageNote, false);
    } else if (this._image.getAttribute('src') !== src) {
      show(this._imageNote, false);
      show(this._image, true);
      this._image.src = src;
    }
    // text only: the marketer's words are never HTML
    setText(this._description, p?.description ?? '');
    show(this._description, p?.description !== undefined);
    const price = p && (p.price !== undefined || p.currency !== undefined) ? formatPrice(p.price ?? '', p.currency ?? '') : '';
    setText(this._price, price);
    show(this._price, price !== '');
  }
}

/** what the product form needs of the console: its calls, and its one way to change a sale */
export interface ProductCalls extends ConsoleCalls {
  /** sends a change of the selected sale; null when done, else the refusal (already said) */
  patch(changes: { product: Product | null }, done: string): Promise<Failure | null>;
}

/** the selected sale's Product form: change it or remove it, live */
export class ProductPanel {
  private readonly _form = byId<HTMLFormElement>('product-form');
  private readonly _remove = byId<HTMLButtonElement>('product-remove');
  private readonly _error = byId('product-error');
  private readonly _fields = new ProductFieldset(byId('product-fields'), 'p-product');
  private _sale: AdminSale | null = null;

  constructor(private readonly calls: ProductCalls) {}

  start(): void {
    this._form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this._save(this._fields.value());
    });
    this._remove.addEventListener('click', () => void this._save(null));
  }

  /** the sale the form is about; a new sale's product replaces what was typed */
  show(sale: AdminSale | null): void {
    const changed = sale?.id !== this._sale?.id;
    this._sale = sale;
    if (!sale) return;
    this._remove.disabled = sale.product === null;
    if (changed) {
      this._showError(null);
      this._fields.fill(sale.product);
    }
  }

  private async _save(product: Product | null): Promise<void> {
    const sale = this._sale;
    if (!sale) return;
    if (sameProduct(product, sale.product)) return this.calls.say('Nothing to change.');
    const r = await this.calls.patch({ product }, product === null ? 'Product removed' : 'Product changed');
    if (this._sale?.id !== sale.id) return;
    if (r) return this._showError(r.status === 401 ? null : `Not changed: ${this.calls.describe(r)}.`);
    this._showError(null);
    // what the gateway keeps (the currency in capitals, empty fields gone)
    this._fields.fill(this._sale.product);
  }

  private _showError(text: string | null): void {
    show(this._error, text !== null);
    setText(this._error, text ?? '');
  }
}
