/**
 * The sale report for marketers (`GET /api/admin/sales/:saleId/report`, JSON or `?format=csv`
 * for the time series), registered inside the admin routes so that it shares their key check.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '../errors.js';
import { seriesCsv } from '../report/report-model.js';
import { SaleReports } from '../report/sale-report.js';
import { ErrorResponse, SaleIdParams, commonErrors } from '../schemas/common.js';
import { ReportQuery, SaleReportResponse } from '../schemas/report.js';

const report: FastifyPluginAsyncTypebox = async (app) => {
  const reports = new SaleReports(app.pgRead);
  app.get(
    '/api/admin/sales/:saleId/report',
    {
      schema: {
        tags: ['admin'],
        summary: "a sale's report (running or finished); ?format=csv: its time series",
        params: SaleIdParams,
        querystring: ReportQuery,
        response: { 200: SaleReportResponse, 401: ErrorResponse, 404: ErrorResponse, ...commonErrors },
      },
    },
    async (req, reply) => {
      const { saleId } = req.params;
      const sale = await app.sales.get(saleId);
      if (!sale) throw new AppError('SALE_NOT_FOUND', `no sale ${saleId}`);
      const figures = await reports.report(sale);
      if (req.query.format === 'csv') {
        // a string with its own content type is sent as it is, not through the JSON schema
        // (which the route's typing knows only for JSON)
        const csv: unknown = seriesCsv(figures.series);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${saleId}-report.csv"`)
          .send(csv as typeof figures);
      }
      return figures;
    },
  );
};

export default report;
