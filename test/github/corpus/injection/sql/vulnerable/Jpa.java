class Dao {
    java.util.List<?> byStatus(javax.persistence.EntityManager em, String status) {
        String q = "SELECT o FROM Order o WHERE o.status = '" + status + "'";
        return em.createQuery(q).getResultList();
    }
}
